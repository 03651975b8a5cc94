/**
 * transferkit — transfer learning for TensorFlow.js. The core entry (Node): the portable core
 * (browser.ts) plus loading from and saving to local files. Subpath entries hold the rest
 * (see browser.ts).
 * @packageDocumentation
 */
export * from './browser.js';

// Node only: local files (Node's loadPretrained also takes folders, HF folders and 'onnx:' sources;
// this explicit export shadows the browser one).
export { loadPretrained, type AutoLoadOptions } from './pretrained/load_pretrained_node.js';
export type { LoadTextModelOptions } from './models/text/load_text_model.js';
export type { OnnxEncoderOptions, OnnxDtype } from './encoders/onnx_encoder.js';
export { saveModel } from './models/save_model.js';
export { streamImageFolder, type StreamImageFolderOptions, loadImageFolder, loadImageFiles, type ImageFolderOptions, type ImageFolderData } from './data/image_folder.js';
export type { SaveTextModelOptions } from './models/text/save_text_model.js';
