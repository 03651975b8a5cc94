/**
 * Image encoders behind the FrozenEncoder interface: an ONNX ViT run by ONNX Runtime through
 * transformers.js (its image processor included) against the torch forward pass of the same
 * network (scripts/onnx_export_vit.py), image files as inputs and in the cache key, and
 * transferkit's TF.js vision models as encoders (imageEncoder), with a head trained on them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, extractFeatures, fineTune, loadPretrained, replaceHead, useBackend } from '../../src/index.js';
import { imageEncoder, loadOnnxEncoder } from '../../src/entries/encoders.js';
import { decodeImage, readSafetensors, type RgbImage } from '../../src/entries/io.js';
import { importTransformers } from '../../src/encoders/onnx_encoder.js';
import { runPythonScript, torchAvailable } from '../helpers/torch.js';
import { HYMENOPTERA, MOBILENET, asset } from '../helpers/assets.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-imgenc-'));
let vitDir = '';

beforeAll(async () => {
  await useBackend('wasm');
  try {
    await importTransformers();
  } catch {
    console.warn('[skip] @huggingface/transformers is not installed; ONNX image encoder tests are skipped');
    return;
  }
  if (!(await torchAvailable())) return;
  vitDir = path.join(tmp(), 'vit');
  const r = await runPythonScript([path.resolve(__dirname, '../../scripts/onnx_export_vit.py'), vitDir]);
  if (r.status !== 0) throw new Error(`onnx_export_vit.py failed: ${r.stderr}`);
}, 120_000);

function writePng(file: string, img: RgbImage): void {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0, j = 0; j < img.data.length; i += 4, j += 3) {
    png.data[i] = img.data[j];
    png.data[i + 1] = img.data[j + 1];
    png.data[i + 2] = img.data[j + 2];
    png.data[i + 3] = 255;
  }
  fs.writeFileSync(file, PNG.sync.write(png));
}

describe('ONNX image encoder (ViT through transformers.js)', () => {
  it('cls and patch-mean embeddings match the torch forward pass within 1e-4; files and decoded images give the same rows', async (ctx) => {
    if (!vitDir) return ctx.skip();
    const ref = await readSafetensors(path.join(vitDir, 'reference.safetensors'));
    const image: RgbImage = { width: 32, height: 32, data: Uint8Array.from(ref.get('image')!.data as Float32Array) };
    const file = path.join(tmp(), 'image.png');
    writePng(file, image);
    for (const pooling of ['cls', 'mean'] as const) {
      const e = await loadOnnxEncoder(vitDir, { pooling });
      expect(e.modality).toBe('image'); // from preprocessor_config.json
      expect(e.dim).toBe(48);
      const rows = await e.encode([image, file]);
      const want = ref.get(pooling)!.data as Float32Array;
      let m = 0;
      for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(rows[i] - want[i]), Math.abs(rows[48 + i] - want[i]));
      console.log(`[onnx-vit] ${pooling}: max |onnx - torch| = ${m.toExponential(2)}`);
      expect(m).toBeLessThan(1e-4);
      await e.dispose();
    }
  });

  it('the cache key covers image file content: a rewritten file with the same name is re-encoded', async (ctx) => {
    if (!vitDir) return ctx.skip();
    const dir = tmp();
    const cache = tmp();
    const files = [0, 1, 2].map((k) => {
      const f = path.join(dir, `${k}.png`);
      writePng(f, { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(40 * k + 20) });
      return f;
    });
    const e = await loadOnnxEncoder(vitDir);
    const a = await extractFeatures(e, files, { cache });
    expect((await extractFeatures(e, files, { cache })).fromCache).toBe(true);
    writePng(files[1], { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(200) });
    const b = await extractFeatures(e, files, { cache });
    expect(b.fromCache).toBe(false);
    const [ra, rb] = [a.features.arraySync(), b.features.arraySync()];
    expect(rb[0]).toEqual(ra[0]);
    expect(rb[1]).not.toEqual(ra[1]);
    tf.dispose([a.features, b.features]);
    await e.dispose();
  });
});

/** Noise images (reddish for even indices, bluish for odd). */
function colourImages(n: number, seed: number, size = 40): { inputs: RgbImage[]; labels: Int32Array } {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const inputs: RgbImage[] = [];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    const data = new Uint8Array(size * size * 3);
    for (let p = 0; p < size * size; p++) {
      const base = 60 + 120 * r();
      data[3 * p] = labels[i] === 0 ? base + 60 * r() : base - 40 * r();
      data[3 * p + 1] = base;
      data[3 * p + 2] = labels[i] === 1 ? base + 60 * r() : base - 40 * r();
    }
    inputs.push({ width: size, height: size, data });
  }
  return { inputs, labels };
}

describe('TF.js vision model as a frozen encoder (imageEncoder)', () => {
  it('rows equal the feature layer, average-pooled, on resized and preprocessed images', async () => {
    const base = await loadPretrained('mobilenet_v2_0.35_96', { weights: null });
    const enc = await imageEncoder(base);
    expect(enc.dim).toBe(1280);
    expect(enc.runtime.runtime).toBe('tfjs');
    const { inputs } = colourImages(3, 1);
    const rows = await enc.encode(inputs.slice(0, 3));
    // The same computation written out: resize (half-pixel bilinear: antialiasing only widens the filter when downscaling), x * scale + offset, features, mean over H, W.
    const sub = tfl.model({ inputs: base.model.inputs, outputs: base.model.getLayer(base.featureLayer).output as tfl.SymbolicTensor });
    const want = tf.tidy(() => {
      const xs = tf.stack(inputs.slice(0, 3).map((im) => tf.image.resizeBilinear(tf.tensor3d(Float32Array.from(im.data), [40, 40, 3]), [96, 96], false, true)));
      const f = sub.predict(tf.add(tf.mul(xs, base.preprocessing.scale as number), base.preprocessing.offset as number)) as tf.Tensor;
      return f.rank === 4 ? tf.mean(f, [1, 2]) : f;
    });
    const w = want.dataSync();
    let m = 0;
    for (let i = 0; i < w.length; i++) m = Math.max(m, Math.abs(rows[i] - w[i]));
    expect(m).toBeLessThan(1e-5);
    want.dispose();

    base.model.dispose();
    await enc.dispose();
  });

  it('ants vs bees: a head on the frozen real MobileNetV2 (decoded photos in, cached rows) beats chance without leaks', async (ctx) => {
    const mobilenet = asset(MOBILENET);
    const photos = asset(HYMENOPTERA);
    if (mobilenet === null || photos === null) return ctx.skip();
    const base = await loadPretrained(mobilenet);
    const enc = await imageEncoder(base);
    const classNames = ['ants', 'bees'];
    // Every 4th photo of each class (sorted names), minus the one GIF: 2/3 train, 1/3 validation.
    const files = classNames.map((c) => fs.readdirSync(path.join(photos, c)).filter((f) => f.endsWith('.jpg')).sort().filter((_, i) => i % 4 === 0).map((f) => path.join(photos, c, f)));
    const split = (k: 0 | 1) => {
      const inputs: RgbImage[] = [];
      const labels: number[] = [];
      files.forEach((fs_, c) => fs_.forEach((f, i) => {
        if ((i % 3 === 2) === (k === 1)) {
          inputs.push(decodeImage(new Uint8Array(fs.readFileSync(f)), f));
          labels.push(c);
        }
      }));
      return { inputs, labels: Int32Array.from(labels), classNames };
    };
    const train = split(0);
    const val = split(1);
    const cache = tmp();
    const model = replaceHead(enc, { numClasses: 2, classNames, dropout: 0.2, seed: 2 });
    const counts: number[] = [];
    await fineTune(model, train, {
      validation: val, epochs: 15, headLearningRate: 1e-3, batchSize: 16, featureCache: cache, progress: 'silent', seed: 1,
      onEpochEnd: () => void counts.push(tf.memory().numTensors),
    });
    expect(new Set(counts.slice(1)).size).toBe(1);
    const res = await evaluate(model, val, { featureCache: cache });
    console.log(`[tfjs-image-encoder] ants/bees: ${train.inputs.length} train, ${val.inputs.length} val photos; val accuracy ${res.accuracy.toFixed(3)} (chance 0.5)`);
    expect(res.accuracy).toBeGreaterThan(0.7);
    model.model.dispose();
    base.model.dispose();
    await enc.dispose();
  }, 120_000);
});
