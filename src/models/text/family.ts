/**
 * What differs between BERT-family architectures, in one record per family (as HF's
 * `modular_roberta.py` subclasses BERT instead of copying it): config parsing, module names, the
 * base-model prefix, token types, position ids, the heads, and the HF class names for export.
 * The builders, the weight map and export read these records; nothing branches on a family name.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { EncoderNames, EncoderSpec } from './encoder.js';
import type { TextConfig, TextFamily, TextTask } from './text_model.js';

/** One architecture family. */
export interface TextFamilySpec {
  /** HF `model_type`. */
  modelType: TextFamily;
  parseConfig(json: Record<string, unknown>, file: string): TextConfig;
  spec(config: TextConfig): EncoderSpec;
  names: EncoderNames;
  /** Module paths of the bare encoder (prefixed with `basePrefix` inside task models). */
  baseModules: RegExp;
  /** HF `base_model_prefix` plus the dot: `'bert.'`. */
  basePrefix: string;
  /** The model takes `token_type_ids`. */
  tokenTypes: boolean;
  /** Builds the pooler of the `'base'` task, if the family has one. */
  pooler?(hidden: tfl.SymbolicTensor, config: TextConfig, seed: number | undefined): tfl.SymbolicTensor;
  /** Builds the sequence-classification head on the last hidden state; returns the logits. */
  sequenceHead(hidden: tfl.SymbolicTensor, config: TextConfig, numLabels: number, nextSeed: () => number | undefined): tfl.SymbolicTensor;
  /** Dropout before a token-classification head. */
  tokenHeadDropout(config: TextConfig): number;
  /** HF class names, for `architectures` in an exported `config.json`. */
  architectures: Record<TextTask | 'mlm', string>;
  /** HF names of the masked-LM head's modules. */
  mlm: { dense: string; norm: string; bias: string; decoder: string };
}
