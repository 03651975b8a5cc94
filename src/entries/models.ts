/**
 * `transferkit/models`: The vision zoo: architecture builders (VGG16, ResNet18/50, MobileNetV2, EfficientNet-B0), the registry of pretrained configs, ImageNet class names.
 * @packageDocumentation
 */
export { zooIds, pretrainedConfig, buildZooModel, type PretrainedConfig, type WeightSource } from '../models/vision/registry.js';
export { vgg16 } from '../models/vision/vgg16.js';
export { resnet50 } from '../models/vision/resnet50.js';
export { resnet18 } from '../models/vision/resnet18.js';
export { mobilenetV2, type MobileNetV2Options } from '../models/vision/mobilenet_v2.js';
export type { BuildOptions } from '../models/vision/_util.js';
export { efficientnetB0 } from '../models/vision/efficientnet_b0.js';
export { IMAGENET_CLASSES } from '../models/vision/imagenet_classes.js';
export { mobilenetV2Torchvision } from '../models/vision/mobilenet_v2_tv.js';
