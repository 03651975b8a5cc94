/**
 * `transferkit/encoders`: Frozen encoders for feature extraction: ONNX encoders through ONNX Runtime (Node), TF.js text and image encoders, token pooling, extractFeatures.
 * @packageDocumentation
 */
export * from './encoders_portable.js';

// Node only: local files.
export { loadOnnxEncoder, ONNX_DTYPE_SUFFIX, TRANSFORMERS_PACKAGE, type OnnxEncoderOptions, type OnnxDtype } from '../encoders/onnx_encoder.js';
export { extractFeaturesOnQueue, type QueueExtractionOptions, type QueueExtraction } from '../tune/queue_extract.js';
