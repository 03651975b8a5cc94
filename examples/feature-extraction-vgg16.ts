/**
 * The classic feature-extraction recipe (Chollet, "Deep Learning with Python", 5.3.1): VGG16's
 * convolutional base frozen as a feature extractor, a new classifier (flatten → dense 256 relu →
 * dropout 0.5 → softmax) trained on its features — here on the ants-vs-bees photos. transferkit
 * computes the frozen base's features once (activation caching), so the epochs cost milliseconds.
 *
 *   npx tsx examples/feature-extraction-vgg16.ts [--weights FILE.h5] [--size 150] [--epochs 20] [--backend wasm]
 *
 * Weights: `--weights` (a keras.applications `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`),
 * else the ImageNet file in the transferkit cache (fetched there when the network allows; with
 * TRANSFERKIT_OFFLINE=1 it is only looked up). Without either, the base keeps RANDOM weights: the
 * run still shows the mechanics, and says loudly that its accuracy means nothing.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fineTune, isTransferKitError, loadImageFolder, loadPretrained, replaceHead, trainValSplit, useBackend, type BackendName, type PretrainedModel } from 'transferkit';
import { defaultCacheDir } from 'transferkit/io';
import { pretrainedConfig } from 'transferkit/models';
import { assetsDir } from './_assets.js';

const { values } = parseArgs({
  options: {
    weights: { type: 'string' },
    data: { type: 'string', default: path.join(assetsDir, 'data/hymenoptera/train') },
    size: { type: 'string', default: '150' },
    epochs: { type: 'string', default: '20' },
    backend: { type: 'string', default: 'wasm' },
    seed: { type: 'string', default: '42' },
  },
});

async function base(size: number): Promise<{ pm: PretrainedModel; weights: string }> {
  const inputShape: [number, number, number] = [size, size, 3];
  if (values.weights !== undefined) return { pm: await loadPretrained('vgg16', { weights: values.weights, inputShape }), weights: values.weights };
  try {
    const pm = await loadPretrained('vgg16', { inputShape, download: { offline: process.env.TRANSFERKIT_OFFLINE === '1' } });
    return { pm, weights: pm.source };
  } catch (err) {
    const src = pretrainedConfig('vgg16')?.sources.find((s) => !s.includeTop);
    console.warn(
      `\n*** No ImageNet weights for VGG16 (${isTransferKitError(err) ? err.message.split('. ')[0] : String(err)}).\n` +
        `*** They come from ${src?.url} (58.9 MB, md5 ${src?.md5});\n` +
        `*** put that file in ${defaultCacheDir()} or pass --weights FILE. Continuing with RANDOM weights:\n` +
        '*** the accuracy below shows the mechanics only, not what VGG16 features can do.\n',
    );
    return { pm: await loadPretrained('vgg16', { weights: null, inputShape }), weights: 'random (no ImageNet weights found)' };
  }
}

async function main(): Promise<void> {
  await useBackend(values.backend as BackendName);
  const size = Number(values.size);
  const seed = Number(values.seed);
  const { pm, weights } = await base(size);
  // Keras 'caffe' preprocessing (BGR, mean subtraction) is applied by the loader from the config.
  const all = await loadImageFolder(values.data as string, { size: [size, size], preprocessing: pm.preprocessing, channelOrder: 'BGR', onWarning: () => undefined });
  const [train, val] = trainValSplit(all, 0.2, seed);
  all.xs.dispose();
  const model = replaceHead(pm, { numClasses: all.classNames.length, classNames: all.classNames, pooling: 'flatten', hidden: [256], dropout: 0.5, seed });
  const t0 = performance.now();
  const { history } = await fineTune(model, train, {
    recipe: 'feature-extraction', headEpochs: Number(values.epochs), batchSize: 20, headLearningRate: 1e-4, validation: val, seed, augment: { flip: false },
    onEpochEnd: (l) => console.log(`epoch ${String(l.epoch).padStart(2)}: loss ${l.loss.toFixed(4)} acc ${(100 * l.accuracy).toFixed(1)}% | val ${(100 * (l.valAccuracy ?? 0)).toFixed(1)}% | ${l.seconds.toFixed(2)} s`),
  });
  const last = history[history.length - 1];
  console.log(JSON.stringify({ weights, size, trainImages: train.labels.length, valImages: val.labels.length, valAccuracy: last.valAccuracy, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)), cachedFrom: last.cachedFrom }));
}

main().catch((err) => {
  console.error(isTransferKitError(err) ? err.message : err);
  process.exit(1);
});
