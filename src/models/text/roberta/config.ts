/**
 * RoBERTa configuration: HF `RobertaConfig` is `BertConfig` with `pad_token_id=1`,
 * `bos_token_id=0`, `eos_token_id=2` (`transformers/models/roberta/configuration_roberta.py`); real
 * checkpoints also set vocab_size 50265, max_position_embeddings 514, type_vocab_size 1 and
 * layer_norm_eps 1e-5 in their config.json.
 */
import { checkConfigObject, parseBertConfig, type BertConfig } from '../bert/config.js';
import { TransferKitError } from '../../../errors.js';

/** A RoBERTa `config.json`: BERT's keys under `model_type: "roberta"`. */
export type RobertaConfig = Omit<BertConfig, 'model_type'> & { model_type: 'roberta' };

/** Reads a RoBERTa config object, filling HF defaults and checking sizes. */
export function parseRobertaConfig(json: Record<string, unknown>, file = 'config.json'): RobertaConfig {
  checkConfigObject(json, file);
  const cfg = { ...parseBertConfig({ pad_token_id: 1, ...json }, file), model_type: 'roberta' } as RobertaConfig;
  if (cfg.max_position_embeddings <= cfg.pad_token_id + 1) {
    throw new TransferKitError('E_BAD_OPTION', `${file}: max_position_embeddings (${cfg.max_position_embeddings}) leaves no positions after the padding offset (pad_token_id ${cfg.pad_token_id} + 1).`);
  }
  return cfg;
}
