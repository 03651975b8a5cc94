/**
 * `transferkit/encoders` for pages (the "browser" export condition): everything of the Node entry that does not read or write local files.
 * @packageDocumentation
 */
export { extractFeatures } from '../encoders/extract_features.js';
export { textEncoder, imageEncoder, type TextEncoderOptions, type ImageEncoderOptions } from '../encoders/tfjs_encoder.js';
export { poolTokenStates } from '../encoders/pooling.js';
