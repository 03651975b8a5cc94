/**
 * The vision zoo: one pretrained config per model id (as timm's `pretrained_cfg`), and the
 * builder that makes its architecture with tfjs-layers.
 *
 * Ids: `vgg16`, `resnet50`, `efficientnet_b0`, `mobilenet_v2_<alpha>_<size>` (alpha 0.35 / 0.5 / 0.75 / 1.0 / 1.3 /
 * 1.4; size 96 / 128 / 160 / 192 / 224; `mobilenet_v2` = 1.0 at 224), `resnet18.tv_in1k`.
 * Weight sources are listed with the hashes their publishers use (Keras: md5 in `get_file`;
 * torchvision: the sha256 prefix in the file name); downloading them is not part of this release.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../../errors.js';
import type { Preprocessing } from '../pretrained_model.js';
import { efficientnetB0 } from './efficientnet_b0.js';
import { mobilenetV2 } from './mobilenet_v2.js';
import { mobilenetV2Torchvision } from './mobilenet_v2_tv.js';
import { resnet18 } from './resnet18.js';
import { resnet50 } from './resnet50.js';
import type { BuildOptions } from './_util.js';
import { vgg16 } from './vgg16.js';

/** Where a model's weights are published. */
export interface WeightSource {
  format: 'keras-h5' | 'torch-pth' | 'safetensors' | 'tfjs-layers';
  url: string;
  includeTop: boolean;
  /** Hash as its publisher checks it. */
  md5?: string;
  sha256Prefix?: string;
  bytes?: number;
}

/** Everything needed to feed and cut a zoo model (as timm's `pretrained_cfg`). */
export interface PretrainedConfig {
  id: string;
  architecture: 'vgg16' | 'resnet50' | 'mobilenet_v2' | 'resnet18' | 'efficientnet_b0' | 'mobilenet_v2_tv';
  /** Input size [H, W, C] the weights were trained at. */
  inputSize: [number, number, number];
  /** Resize the shorter side to `resize`, then centre-crop `crop` (Keras applications: no crop). */
  resize: number;
  crop: number;
  /** Channel order the network expects. */
  channelOrder: 'RGB' | 'BGR';
  /** `x * scale + offset` on [0, 255] pixels in `channelOrder` (Keras' 'caffe' / 'tf' modes, torchvision's mean/std). */
  preprocessing: Preprocessing;
  /** Name of the classifier layer (the top). */
  classifier: string;
  /** The last layer of the convolutional base (what `includeTop: false` ends with). */
  featureLayer: string;
  /** Output layer of each resolution stage, shallow to deep (for feature pyramids and block-wise unfreezing). */
  stageFeatures: string[];
  numClasses: number;
  licence: string;
  sources: WeightSource[];
  /** Builder options beyond the shared ones (e.g. MobileNetV2's alpha). */
  buildOptions?: Record<string, number>;
}

const KERAS = 'https://storage.googleapis.com/tensorflow/keras-applications';
// Keras 'caffe' mode: RGB → BGR, minus the ImageNet channel means, no scaling.
const caffe: Preprocessing = { scale: 1, offset: [-103.939, -116.779, -123.68], source: "Keras applications 'caffe' mode (BGR, mean subtraction)" };
const tfMode: Preprocessing = { scale: 1 / 127.5, offset: -1, source: "Keras applications 'tf' mode ([-1, 1])" };
const torchMean = [0.485, 0.456, 0.406];
const torchStd = [0.229, 0.224, 0.225];
const torchvision: Preprocessing = {
  scale: torchStd.map((s) => 1 / (255 * s)) as [number, number, number],
  offset: torchMean.map((m, i) => -m / torchStd[i]) as [number, number, number],
  source: 'torchvision ImageNet mean/std',
};

const FIXED: PretrainedConfig[] = [
  {
    id: 'vgg16', architecture: 'vgg16', inputSize: [224, 224, 3], resize: 224, crop: 224, channelOrder: 'BGR', preprocessing: caffe,
    classifier: 'predictions', featureLayer: 'block5_pool', stageFeatures: ['block1_pool', 'block2_pool', 'block3_pool', 'block4_pool', 'block5_pool'],
    numClasses: 1000, licence: 'CC BY 4.0 (VGG weights, Oxford VGG); Keras code Apache-2.0',
    sources: [
      { format: 'keras-h5', includeTop: true, url: `${KERAS}/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5`, md5: '64373286793e3c8b2b4e3219cbf3544b' },
      { format: 'keras-h5', includeTop: false, url: `${KERAS}/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`, md5: '6d6bbae143d832006294945121d1f1fc', bytes: 58889256 },
    ],
  },
  {
    id: 'resnet50', architecture: 'resnet50', inputSize: [224, 224, 3], resize: 224, crop: 224, channelOrder: 'BGR', preprocessing: caffe,
    classifier: 'predictions', featureLayer: 'conv5_block3_out', stageFeatures: ['conv1_relu', 'conv2_block3_out', 'conv3_block4_out', 'conv4_block6_out', 'conv5_block3_out'],
    numClasses: 1000, licence: 'MIT (Kaiming He, deep-residual-networks); Keras code Apache-2.0',
    sources: [
      { format: 'keras-h5', includeTop: true, url: `${KERAS}/resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5`, md5: '2cb95161c43110f7111970584f804107' },
      { format: 'keras-h5', includeTop: false, url: `${KERAS}/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`, md5: '4d473c1dd8becc155b73f8504c6f6626' },
    ],
  },
  {
    // Keras keeps Rescaling(1/255) + Normalization(ImageNet mean/variance) inside the graph; here
    // they are this config's preprocessing, so the graph holds only trainable layers.
    id: 'efficientnet_b0', architecture: 'efficientnet_b0', inputSize: [224, 224, 3], resize: 224, crop: 224, channelOrder: 'RGB',
    preprocessing: { ...torchvision, source: "Keras EfficientNet's in-graph Rescaling + Normalization (ImageNet mean/std)" },
    classifier: 'predictions', featureLayer: 'top_activation', stageFeatures: ['block1a_project_bn', 'block2b_add', 'block3b_add', 'block5c_add', 'top_activation'],
    numClasses: 1000, licence: 'Apache-2.0 (Keras applications; weights from the TF TPU EfficientNet release)',
    sources: [
      { format: 'keras-h5', includeTop: true, url: 'https://storage.googleapis.com/keras-applications/efficientnetb0.h5', md5: '902e53a9f72be733fc0bcb005b3ebbac' },
      { format: 'keras-h5', includeTop: false, url: 'https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5', md5: '50bc09e76180e00e4465e1a485ddc09d' },
    ],
  },
  {
    id: 'mobilenet_v2.tv_in1k', architecture: 'mobilenet_v2_tv', inputSize: [224, 224, 3], resize: 256, crop: 224, channelOrder: 'RGB', preprocessing: torchvision,
    classifier: 'classifier.1', featureLayer: 'features.18.2', stageFeatures: ['features.1.conv.2', 'features.3.add', 'features.6.add', 'features.13.add', 'features.18.2'],
    numClasses: 1000, licence: 'BSD-3-Clause (torchvision)',
    sources: [{ format: 'torch-pth', includeTop: true, url: 'https://download.pytorch.org/models/mobilenet_v2-b0353104.pth', sha256Prefix: 'b0353104' }],
  },
  {
    id: 'resnet18.tv_in1k', architecture: 'resnet18', inputSize: [224, 224, 3], resize: 256, crop: 224, channelOrder: 'RGB', preprocessing: torchvision,
    classifier: 'fc', featureLayer: 'layer4.1.relu2', stageFeatures: ['relu', 'layer1.1.relu2', 'layer2.1.relu2', 'layer3.1.relu2', 'layer4.1.relu2'],
    numClasses: 1000, licence: 'BSD-3-Clause (torchvision)',
    sources: [
      { format: 'torch-pth', includeTop: true, url: 'https://download.pytorch.org/models/resnet18-f37072fd.pth', sha256Prefix: 'f37072fd' },
      { format: 'safetensors', includeTop: true, url: 'https://huggingface.co/timm/resnet18.tv_in1k/resolve/main/model.safetensors' },
    ],
  },
];

const ALPHAS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4];
const SIZES = [96, 128, 160, 192, 224];

function mobilenetConfig(alpha: number, size: number): PretrainedConfig {
  const a = alpha.toFixed(alpha === 0.35 || alpha === 0.75 ? 2 : 1);
  return {
    id: `mobilenet_v2_${a}_${size}`, architecture: 'mobilenet_v2', inputSize: [size, size, 3], resize: size, crop: size, channelOrder: 'RGB', preprocessing: tfMode,
    classifier: 'predictions', featureLayer: 'out_relu', stageFeatures: ['expanded_conv_project_BN', 'block_2_add', 'block_5_add', 'block_12_add', 'out_relu'],
    numClasses: 1000, licence: 'Apache-2.0 (Keras applications)', buildOptions: { alpha },
    sources: [
      { format: 'keras-h5', includeTop: true, url: `${KERAS}/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${a}_${size}.h5` },
      { format: 'keras-h5', includeTop: false, url: `${KERAS}/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${a}_${size}_no_top.h5` },
    ],
  };
}

/** Every zoo id. */
export function zooIds(): string[] {
  return [...FIXED.map((c) => c.id), 'mobilenet_v2', ...ALPHAS.flatMap((al) => SIZES.map((s) => mobilenetConfig(al, s).id))];
}

/**
 * Zoo ids close to `name` (its first six characters, trailing digits dropped, start an id's
 * architecture part): what a typo of a zoo id was probably meant as.
 */
export function closeZooIds(name: string): string[] {
  const stem = name.replace(/\d+$/, '').slice(0, 6);
  return zooIds().filter((id) => id.split('.')[0].startsWith(stem));
}

/** The pretrained config of `id`, or null when `id` is not in the zoo. */
export function pretrainedConfig(id: string): PretrainedConfig | null {
  if (id === 'mobilenet_v2') return mobilenetConfig(1.0, 224);
  const fixed = FIXED.find((c) => c.id === id);
  if (fixed !== undefined) return fixed;
  const m = /^mobilenet_v2_(\d+(?:\.\d+)?)_(\d+)$/.exec(id);
  if (m !== null && ALPHAS.includes(Number(m[1])) && SIZES.includes(Number(m[2]))) return mobilenetConfig(Number(m[1]), Number(m[2]));
  return null;
}

/** Builds the architecture of `id` with fresh weights (Keras `weights=None`). */
export function buildZooModel(id: string, options: BuildOptions = {}): { model: tfl.LayersModel; config: PretrainedConfig } {
  const config = pretrainedConfig(id);
  if (config === null) {
    throw new TransferKitError('E_BAD_OPTION', `Unknown zoo model '${id}'. Known: vgg16, resnet50, efficientnet_b0, resnet18.tv_in1k, mobilenet_v2.tv_in1k, mobilenet_v2, mobilenet_v2_<alpha>_<size> (alpha ${ALPHAS.join('/')}, size ${SIZES.join('/')}).`);
  }
  const opts: BuildOptions = { inputShape: config.inputSize, ...options };
  const model =
    config.architecture === 'vgg16' ? vgg16(opts)
      : config.architecture === 'resnet50' ? resnet50(opts)
        : config.architecture === 'resnet18' ? resnet18(opts)
          : config.architecture === 'efficientnet_b0' ? efficientnetB0(opts)
          : config.architecture === 'mobilenet_v2_tv' ? mobilenetV2Torchvision(opts)
          : mobilenetV2({ ...opts, alpha: config.buildOptions?.alpha ?? 1.0 });
  return { model, config };
}
