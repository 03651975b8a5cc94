/** Feeding a text model: its inputs in `model.apply` order, from a padded batch. */
import type * as tf from '@tensorflow/tfjs-core';
import type { TextBatch } from '../../data/text/tokenizer.js';
import type { TextModel } from './text_model.js';

/** `[input_ids, attention_mask, (token_type_ids)]` as `tm.model` takes them. */
export function textInputs(tm: Pick<TextModel, 'inputNames'>, batch: TextBatch): tf.Tensor[] {
  return tm.inputNames.map((n) => (n === 'input_ids' ? batch.inputIds : n === 'attention_mask' ? batch.attentionMask : batch.tokenTypeIds));
}

/** Disposes a batch's tensors. */
export function disposeBatch(batch: TextBatch): void {
  batch.inputIds.dispose();
  batch.attentionMask.dispose();
  batch.tokenTypeIds.dispose();
}
