/**
 * What decoding off the critical path buys when training streams from an image folder (decode,
 * resize and preprocess per batch, nothing held in memory): the same epochs of head training on
 * the real ants-vs-bees photos (MobileNetV2-0.35 frozen, so its forward pass runs per batch in
 * inference mode) with JPEG decode workers + one batch prefetched, and with both off (each batch
 * decoded on the main thread when the loop asks for it). Same seed and order, so the same updates.
 * Also times loading the folder into memory (`loadImageFolder`) with and without workers.
 *
 *   npx tsx bench/stream-prefetch.ts [--epochs 2] [--batch 32] [--workers N] [--backend wasm]
 *
 * Prints one JSON line per configuration, then a summary line with the speed-ups.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { fineTune, loadImageFolder, loadPretrained, replaceHead, streamImageFolder, useBackend, type BackendName } from 'transferkit';
import { defaultDecodeWorkers } from '../src/data/decode_pool.js';
import { antsAssets } from './_ants_assets.js';

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '2' }, batch: { type: 'string', default: '32' }, workers: { type: 'string' }, backend: { type: 'string', default: 'wasm' } } });

async function main(): Promise<void> {
  const found = antsAssets();
  if (found === null) return;
  const { modelDir, dataDir } = found;
  const info = await useBackend(values.backend as BackendName);
  const workers = values.workers !== undefined ? Number(values.workers) : defaultDecodeWorkers();
  const epochs = Number(values.epochs);
  const batchSize = Number(values.batch);
  const out: Record<string, number> = {};
  for (const [name, decodeWorkers, prefetch] of [['main thread, no prefetch', 0, 0], [`${workers} worker(s), prefetch 1`, workers, 1]] as const) {
    const base = await loadPretrained(modelDir);
    let t0 = performance.now();
    const mem = await loadImageFolder(dataDir, { size: [224, 224], preprocessing: base.preprocessing, decodeWorkers, onWarning: () => undefined });
    const loadSeconds = (performance.now() - t0) / 1000;
    mem.xs.dispose();
    const stream = await streamImageFolder(dataDir, { size: [224, 224], preprocessing: base.preprocessing, batchSize, shuffleSeed: 1, decodeWorkers, prefetch, onWarning: () => undefined });
    const model = replaceHead(base, { numClasses: 2, seed: 1 });
    t0 = performance.now();
    const { history } = await fineTune(model, stream, { recipe: 'feature-extraction', headEpochs: epochs, seed: 1, progress: 'silent' });
    const trainSeconds = (performance.now() - t0) / 1000;
    const line = { bench: 'stream-prefetch', config: name, decodeWorkers, prefetch, backend: info.name, threads: info.threads, images: stream.files.length, epochs, batchSize, trainSeconds: Number(trainSeconds.toFixed(2)), secondsPerEpoch: Number((trainSeconds / epochs).toFixed(2)), loadImageFolderSeconds: Number(loadSeconds.toFixed(2)), finalLoss: Number(history[history.length - 1].loss.toFixed(5)), numTensors: tf.memory().numTensors };
    console.log(JSON.stringify(line));
    out[decodeWorkers === 0 ? 'off' : 'on'] = trainSeconds;
    out[decodeWorkers === 0 ? 'loadOff' : 'loadOn'] = loadSeconds;
    model.model.dispose();
  }
  console.log(JSON.stringify({ summary: 'speed-up of decode workers + prefetch', streamingEpochSpeedup: Number((out.off / out.on).toFixed(2)), loadImageFolderSpeedup: Number((out.loadOff / out.loadOn).toFixed(2)) }));
}

void main();
