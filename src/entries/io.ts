/**
 * `transferkit/io`: Model and weight file formats: safetensors, PyTorch checkpoints, Keras .h5/.keras, TF.js topology flattening, copy-by-name, local folders and the download cache, image decoding and resizing.
 * @packageDocumentation
 */
export * from './io_portable.js';

// Node only: local files.
export { fileSystem, registerFileRouters } from '../io/file_system.js';
export { SafetensorsFile, readSafetensors, writeSafetensors, type SafeTensor } from '../io/safetensors.js';
export { readTorchCheckpoint, type TorchCheckpointOptions } from '../io/torch_pth.js';
export { readKerasH5, loadKerasH5, saveKerasH5, type H5Weight } from '../io/keras_h5.js';
export { cachedDownload, defaultCacheDir, type DownloadOptions } from '../io/download.js';
export { readKerasArchive, loadKerasArchive, type KerasArchive } from '../io/keras_archive.js';
export { loadTfliteWeights } from '../io/tflite_file.js';
export { decodeImage, imageFormat, type ImageFormat, type RgbImage } from '../data/decode_image.js';
export { ALL_IMAGE_FORMATS, canDecodeWebpGif, decodeImageAsync, DEFAULT_IMAGE_FORMATS, type DecodeImageOptions } from '../data/decode_image_node.js';
