/**
 * `transferkit/io` for pages (the "browser" export condition): everything of the Node entry that does not read or write local files.
 * @packageDocumentation
 */
export { httpLoader, type HttpLoaderOptions } from '../io/http.js';
export { flattenTopology, type ModelTopology } from '../io/flatten_topology.js';
export { resizeCropImage, type ImageResizeOptions, type ResizableImage } from '../data/resize_image.js';
export { copyWeightsByName, type WeightCopyReport } from '../io/weights_by_name.js';
export { loadTorchStateDict, torchvisionVgg16Mapping, type StateDictMapping } from '../io/torch_state_dict.js';
export { isTflite, parseTflite, type TfliteDtype, type TfliteGraph, type TfliteOperator, type TfliteQuantization, type TfliteTensor } from '../io/tflite.js';
export { tfliteToKeras, type TfliteMapOptions } from '../io/tflite_weights.js';
