/**
 * transferkit — transfer learning for TensorFlow.js.
 *
 * The public API: explicit named re-exports only. The portable part lives in browser.ts; this Node
 * entry adds file-based IO.
 * @packageDocumentation
 */
export * from './browser.js';

// Node only: local files, caches and image folders.
export { fileSystem, registerFileRouters } from './io/file_system.js';
export { saveModel } from './models/save_model.js';
// Node's loadPretrained also takes 'onnx:' sources (this explicit export shadows the browser one).
export { loadPretrained } from './pretrained/load_pretrained_node.js';
export { loadOnnxEncoder, ONNX_DTYPE_SUFFIX, TRANSFORMERS_PACKAGE, type OnnxEncoderOptions, type OnnxDtype } from './encoders/onnx_encoder.js';
export { streamImageFolder, type StreamImageFolderOptions } from './data/image_folder.js';
export { loadImageFolder, loadImageFiles, type ImageFolderOptions, type ImageFolderData } from './data/image_folder.js';
export { resizeCropImage, type ImageResizeOptions, type ResizableImage } from './data/resize_image.js';
export { SafetensorsFile, readSafetensors, writeSafetensors, type SafeTensor } from './io/safetensors.js';
export { readTorchCheckpoint, type TorchCheckpointOptions } from './io/torch_pth.js';
export { readKerasH5, loadKerasH5, saveKerasH5, type H5Weight } from './io/keras_h5.js';
export { cachedDownload, defaultCacheDir, type DownloadOptions } from './io/download.js';
export { readKerasArchive, loadKerasArchive, type KerasArchive } from './io/keras_archive.js';
// pngjs needs Node's zlib and streams (browsers decode images with createImageBitmap / canvas).
export { decodeImage, imageFormat, type ImageFormat, type RgbImage } from './data/decode_image.js';
export { ALL_IMAGE_FORMATS, canDecodeWebpGif, decodeImageAsync, DEFAULT_IMAGE_FORMATS, type DecodeImageOptions } from './data/decode_image_node.js';
export { loadReviewFolder, loadReviewTexts, loadTextLines, loadDelimited, loadJsonl, parseDelimited, type TextData, type TableTextData, type TableTextOptions } from './data/text/load_text.js';
export { loadMnist, makeMnistMFromFolder, type MnistData } from './data/datasets/load_mnist.js';
export { loadTextModel, loadTokenizer, type LoadTextModelOptions } from './models/text/load_text_model.js';
export { saveTextModel, hfConfigOf, hfTensorsOf, type SaveTextModelOptions } from './models/text/save_text_model.js';
// Node only: hyperparameter search (study folders, child-process trials).
export { tune, trialTable, functionExecutor, processExecutor, type TuneOptions, type TuneResult, type TrialRecord, type TrialContext, type Objective, type ObjectiveModule, type TrialExecutor } from './tune/tune.js';
export { tuneOptionsFromJson } from './tune/config_file.js';
