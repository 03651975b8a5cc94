/**
 * Child of the kill -9 loop (test/fuzz/kill_save.test.ts): saves a vision model, a checkpoint and
 * a text model to the same three paths over and over, changing the weights each round, until it
 * is killed. Prints `saved <round>` after each complete round.
 */
import * as tf from '@tensorflow/tfjs-core';
import { saveModel, useBackend } from '../../../src/index.js';
import { buildTextModel, TextTokenizer } from '../../../src/entries/text.js';
import { writeCheckpoint } from '../../../src/train/checkpoint.js';
import { tinyHeaded } from '../../helpers/tiny_model.js';
import { SENTIMENT_VOCAB } from '../../helpers/synthetic.js';

const dir = process.env.TK_KILL_DIR as string;

async function main(): Promise<void> {
  await useBackend('cpu');
  const pm = await tinyHeaded(1);
  const tm = buildTextModel({ model_type: 'bert', vocab_size: SENTIMENT_VOCAB.length, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32 }, { task: 'sequence-classification', numLabels: 2, seed: 1 });
  tm.tokenizer = TextTokenizer.fromVocab(SENTIMENT_VOCAB);
  for (let round = 0; ; round++) {
    const w = pm.model.weights[0];
    w.write(tf.tidy(() => tf.add(w.read(), 1e-3)));
    await saveModel(pm, `${dir}/model`);
    await writeCheckpoint(`${dir}/ckpt`, { model: pm.model }, { version: 1, recipe: 'kill-loop', stageIndex: 0, epochsDone: round, step: 0, optimizer: null, schedule: null, rng: round, history: [] });
    await saveModel(tm, `${dir}/text`);
    process.stdout.write(`saved ${round}\n`);
  }
}

void main();
