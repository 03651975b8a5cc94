/**
 * Runs in Chromium (bundled by test/browser/chromium.test.ts): the text pipeline in a page — a
 * small BERT built from its config, a WordPiece tokenizer (tokenizers.js) from a vocabulary, the
 * HF fine-tuning recipe on a synthetic sentiment task — and publishes the figures on
 * `window.__result`.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { useBackend } from '../../src/browser.js';
import { buildTextModel, evaluateText, fineTuneText, TextTokenizer } from '../../src/entries/text_portable.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'film', 'book', 'is', 'was', 'very', 'good', 'great', 'bad', 'awful', 'and', 'plot'];

function data(n: number, seed: number): { texts: string[]; labels: number[] } {
  let s = seed;
  const r = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const filler = ['the', 'film', 'book', 'is', 'was', 'very', 'and', 'plot'];
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = r() < 0.5 ? 0 : 1;
    const words = Array.from({ length: 3 + Math.floor(r() * 5) }, () => filler[Math.floor(r() * filler.length)]);
    words.splice(Math.floor(r() * words.length), 0, (y ? ['good', 'great'] : ['bad', 'awful'])[Math.floor(r() * 2)]);
    texts.push(words.join(' '));
    labels.push(y);
  }
  return { texts, labels };
}

async function main(): Promise<Record<string, unknown>> {
  await useBackend('cpu');
  const tm = buildTextModel({ model_type: 'bert', vocab_size: VOCAB.length, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 32 }, { task: 'sequence-classification', numLabels: 2, seed: 1 });
  tm.tokenizer = TextTokenizer.fromVocab(VOCAB);
  const dev = data(64, 2);
  const r = await fineTuneText(tm, data(256, 1), { epochs: 4, batchSize: 16, learningRate: 3e-3, seed: 3 });
  const accuracy = (await evaluateText(tm, dev)).accuracy;
  document.body.textContent = `BERT in the page: dev accuracy ${((accuracy ?? 0) * 100).toFixed(1)} %`;
  return { ok: true, accuracy, losses: r.history.map((h) => h.loss), numTensors: r.history.map((h) => h.numTensors), tfVersion: tf.version_core };
}

main().then(
  (r) => ((window as unknown as { __result: unknown }).__result = r),
  (err: unknown) => ((window as unknown as { __result: unknown }).__result = { ok: false, error: String((err as Error).stack ?? err) }),
);
