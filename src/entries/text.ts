/**
 * `transferkit/text`: BERT-family text models: configs, layers, builders, Hugging Face loading and export, tokenizers, the HF fine-tuning recipe under its text-only name, masked-LM pretraining, text file loaders.
 * @packageDocumentation
 */
export * from './text_portable.js';

// Node only: local files.
export { loadDelimited, loadJsonl, parseDelimited, type TableTextData, type TableTextOptions } from '../data/text/load_text.js';
export { loadTextModel, loadTokenizer, type LoadTextModelOptions } from '../models/text/load_text_model.js';
export { saveTextModel, hfConfigOf, hfTensorsOf } from '../models/text/save_text_model.js';
