/**
 * RoBERTa (HF `transformers/models/roberta/modeling_roberta.py`, written there as a modular
 * subclass of BERT): BERT's encoder and module names, with two differences —
 * - position ids count only real tokens and start after the padding index:
 *   `cumsum(ids != pad) * (ids != pad) + pad` (HF `create_position_ids_from_input_ids`), so
 *   position rows 0..pad are never used by real tokens;
 * - the sequence classifier (`RobertaClassificationHead`) is dropout → `classifier.dense` (tanh) →
 *   dropout → `classifier.out_proj` on the first token (`<s>`), without the pooler.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { hfDense } from '../encoder.js';
import type { TextFamilySpec } from '../family.js';
import { FirstToken } from '../layers/pooling.js';
import { BERT, bertClassifierDropout, bertSpec } from '../bert/model.js';
import type { BertConfig } from '../bert/config.js';
import { parseRobertaConfig, type RobertaConfig } from './config.js';

export const ROBERTA: TextFamilySpec = {
  ...BERT,
  modelType: 'roberta',
  parseConfig: parseRobertaConfig,
  spec: (c) => ({ ...bertSpec(c as unknown as BertConfig), positionsAfterPadding: true }),
  basePrefix: 'roberta.',
  sequenceHead: (hidden, config, numLabels, nextSeed) => {
    const c = config as RobertaConfig;
    const rate = bertClassifierDropout(c as unknown as BertConfig);
    const first = new FirstToken({ name: 'classifier.first_token' }).apply(hidden) as tfl.SymbolicTensor;
    let x = tfl.layers.dropout({ rate, name: 'classifier.dropout_1' }).apply(first) as tfl.SymbolicTensor;
    x = hfDense(c.hidden_size, 'classifier.dense', c.initializer_range, 'tanh', nextSeed()).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dropout({ rate, name: 'classifier.dropout_2' }).apply(x) as tfl.SymbolicTensor;
    return hfDense(numLabels, 'classifier.out_proj', c.initializer_range, undefined, nextSeed()).apply(x) as tfl.SymbolicTensor;
  },
  architectures: { base: 'RobertaModel', 'sentence-embedding': 'RobertaModel', 'sequence-classification': 'RobertaForSequenceClassification', 'token-classification': 'RobertaForTokenClassification', mlm: 'RobertaForMaskedLM' },
  mlm: { dense: 'lm_head.dense', norm: 'lm_head.layer_norm', bias: 'lm_head.bias', decoder: 'lm_head.decoder.weight' },
};
