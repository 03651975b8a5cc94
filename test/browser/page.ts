/**
 * Runs in Chromium (bundled by test/browser/chromium.test.ts): transferkit's browser entry
 * fine-tunes the real MobileNetV2-0.35 (Teachable Machine export, served over HTTP) on real
 * ants/bees photos fetched from the test server, with the feature-extraction recipe on the wasm
 * backend (binaries served by the test server: `wasmPaths`), and publishes the figures on
 * `window.__result`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fineTune, loadPretrained, replaceHead, useBackend } from '../../src/browser.js';
import { resizeCropImage } from '../../src/entries/io_portable.js';

interface PageResult {
  ok: boolean;
  error?: string;
  backend?: string;
  trainAccuracy?: number;
  valAccuracy?: number;
  epochs?: number;
  numTensorsPerEpoch?: number[];
  seconds?: number;
}

declare global {
  interface Window {
    __result?: PageResult;
    __images: { train: [string, number][]; val: [string, number][] };
  }
}

/** Decoded by the browser, resized by transferkit exactly as Node's loaders resize (centre crop, antialiased). */
async function imageTensor(url: string, size: number, scale: number, offset: number): Promise<tf.Tensor3D> {
  const blob = await (await fetch(url)).blob();
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
  ctx.drawImage(bitmap, 0, 0);
  const pixels = resizeCropImage(ctx.getImageData(0, 0, bitmap.width, bitmap.height), [size, size]);
  bitmap.close();
  return tf.tidy(() => tf.add(tf.mul(tf.tensor3d(pixels, [size, size, 3]), scale), offset) as tf.Tensor3D);
}

async function main(): Promise<PageResult> {
  const t0 = performance.now();
  // wasm with the page's own copies of the binaries (the wasmPaths option; the package's embedded
  // binaries exist only in its build, and this page bundles the sources).
  const info = await useBackend('wasm', { wasmPaths: `${location.origin}/wasm/` });
  const base = await loadPretrained(`${location.origin}/model/`);
  const size = base.inputShape[0];
  const { scale, offset } = base.preprocessing as { scale: number; offset: number };
  const load = async (items: [string, number][]) => {
    const xs = await Promise.all(items.map(([u]) => imageTensor(u, size, scale, offset)));
    const stacked = tf.stack(xs);
    tf.dispose(xs);
    return { xs: stacked, labels: Int32Array.from(items.map(([, y]) => y)), classNames: ['ants', 'bees'] };
  };
  const train = await load(window.__images.train);
  const val = await load(window.__images.val);
  const model = replaceHead(base, { numClasses: 2, classNames: ['ants', 'bees'], seed: 1 });
  const tensors: number[] = [];
  const { history } = await fineTune(model, train, {
    recipe: 'feature-extraction',
    validation: val,
    headEpochs: 8,
    epochs: 0,
    batchSize: 16,
    headLearningRate: 1e-3,
    seed: 1,
    progress: 'silent',
    onEpochEnd: () => void tensors.push(tf.memory().numTensors),
  });
  const last = history[history.length - 1];
  document.body.textContent = `val accuracy ${(100 * (last.valAccuracy ?? 0)).toFixed(1)} % after ${history.length} epochs`;
  return { ok: true, backend: info.name, trainAccuracy: last.accuracy, valAccuracy: last.valAccuracy, epochs: history.length, numTensorsPerEpoch: tensors, seconds: (performance.now() - t0) / 1000 };
}

main().then(
  (r) => (window.__result = r),
  (err: unknown) => (window.__result = { ok: false, error: String((err as Error).stack ?? err) }),
);
