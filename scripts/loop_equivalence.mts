/**
 * Bit-equality check for refactors of the training loop: trains every path (fineTune's image
 * recipes, fineTuneText, pretrainMaskedLM, DomainAdapter DANN / AdaBN + self-training / CORAL +
 * MMD) with fixed seeds and prints a digest of the final weights. Run it on two trees and diff:
 *
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   ROOT=/tmp/before npx tsx scripts/loop_equivalence.mts > before.txt
 *   ROOT=$PWD npx tsx scripts/loop_equivalence.mts > after.txt && diff before.txt after.txt
 *
 * Weight digests must match exactly; logged losses may differ in the last float32 digits where
 * a path changed how it sums them.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
const root = process.env.ROOT ?? process.cwd();
// The core entry, plus the text subpath where the tree has subpath entries (after the front-door split).
const { existsSync } = await import('node:fs');
const tk = { ...(await import(`${root}/src/index.ts`)) } as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
if (existsSync(`${root}/src/entries/text.ts`)) Object.assign(tk, await import(`${root}/src/entries/text.ts`));
const { mulberry32 } = await import(`${root}/src/utils/random.ts`);
// The BatchNorm patch moved from transfer/ to layers/ (one layer-patch folder): take either.
const bnFile = existsSync(`${root}/src/layers/batch_norm.ts`) ? `${root}/src/layers/batch_norm.ts` : `${root}/src/transfer/batch_norm.ts`;
const { applyKerasBatchNormSemantics } = await import(bnFile);
await tk.useBackend('cpu');
const digest = (m: tfl.LayersModel) => { let s = 0, q = 0; for (const w of m.weights) { const d = w.read().dataSync(); for (let i = 0; i < d.length; i++) { s += d[i]; q += d[i] * d[i] * (i % 7 + 1); } } return `${s.toPrecision(17)} ${q.toPrecision(17)}`; };
// text
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'film', 'book', 'story', 'is', 'was', 'very', 'quite', 'good', 'great', 'fine', 'bad', 'awful', 'poor', 'and', 'plot', 'acting'];
function synthetic(n: number, seed: number) { const r = mulberry32(seed); const pick = (xs: string[]) => xs[Math.floor(r() * xs.length)]; const texts: string[] = []; const labels: number[] = []; for (let i = 0; i < n; i++) { const y = r() < 0.5 ? 0 : 1; const words = Array.from({ length: 4 + Math.floor(r() * 6) }, () => pick(VOCAB.slice(5, 13))); words.splice(Math.floor(r() * words.length), 0, pick(y ? ['good', 'great'] : ['bad', 'awful'])); texts.push(words.join(' ')); labels.push(y); } return { texts, labels }; }
const bert = (task: string) => { const tm = tk.buildTextModel({ model_type: 'bert', vocab_size: VOCAB.length, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 32 }, { task, numLabels: 2, seed: 0 }); tm.tokenizer = tk.TextTokenizer.fromVocab(VOCAB); return tm; };
let tm = bert('sequence-classification');
const r1 = await tk.fineTuneText(tm, synthetic(96, 1), { epochs: 2, batchSize: 16, learningRate: 3e-3, validation: synthetic(32, 2), seed: 7, progress: false });
console.log('text', digest(tm.model), r1.bestEpoch, r1.history.map((h: { loss: number }) => h.loss.toPrecision(12)).join(','));
tm = bert('base');
const r2 = await tk.pretrainMaskedLM(tm, synthetic(96, 3).texts, { epochs: 2, batchSize: 16, seed: 3, progress: false });
console.log('mlm', digest(tm.model), r2.epochLosses.map((x: number) => x.toPrecision(12)).join(','), r2.firstLoss, r2.lastLoss);
// DANN
function blobs(n: number, shift: number, seed: number) { const r = mulberry32(seed); const g = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()); const xs: number[] = []; const labels = new Int32Array(n); for (let i = 0; i < n; i++) { const c = i % 2; labels[i] = c; xs.push((c === 0 ? -1 : 1) + 0.4 * g() + shift, 0.4 * g() + shift); } return { xs: tf.tensor2d(xs, [n, 2]), labels, classNames: ['neg', 'pos'] }; }
function net(seed: number) { const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 10 + k }); const input = tfl.input({ shape: [2] }); let h = tfl.layers.batchNormalization({ name: 'bn_in' }).apply(input) as tfl.SymbolicTensor; h = tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(1), name: 'features' }).apply(h) as tfl.SymbolicTensor; h = tfl.layers.dropout({ rate: 0.3 }).apply(h) as tfl.SymbolicTensor; const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(2), name: 'classifier' }).apply(h) as tfl.SymbolicTensor; const m = tfl.model({ inputs: input, outputs: out }); applyKerasBatchNormSemantics(m); return m; }
const data = { source: blobs(128, 0, 1), target: { xs: blobs(100, 3, 3).xs }, sourceVal: blobs(64, 0, 2) };
for (const method of [['dann'], ['adabn', 'self-training'], ['coral', 'mmd']]) {
  const m = net(5);
  const res = await new tk.DomainAdapter({ method, epochs: 3, batchSize: 16, learningRate: 0.05, seed: 7, discriminator: { hiddenSize: 16 }, validator: 'snd', selfTraining: { threshold: 0.5 }, progress: false }).fit(m, data);
  console.log(method.join('+'), digest(m), res.selectedEpoch, res.history.map((h: { loss: number }) => h.loss.toPrecision(8)).join(','));
}
const helpers = await import(`${root}/test/helpers/tiny_model.ts`);
for (const recipe of ['two-stage', 'fine-tune', 'gradual-unfreeze']) {
  const pm = await helpers.tinyHeaded(3, { dropout: 0.3 });
  const r = await tk.fineTune(pm, helpers.quadrantImages(24), { recipe, headEpochs: 2, epochs: 2, batchSize: 8, seed: 5, validation: helpers.quadrantImages(8, 16, 3, 9), progress: 'silent', unfreeze: { from: 'Conv_1' } });
  console.log(recipe, digest(pm.model), r.history.map((h: { loss: number; valLoss: number }) => `${h.loss.toPrecision(10)}/${h.valLoss.toPrecision(8)}`).join(','));
}
