/**
 * The vision zoo: architectures with Keras' / torchvision's exact parameter counts, loadPretrained
 * by id with random weights (Keras `weights=None`), and numerical parity with the real TF.js
 * MobileNetV2 exports (weights copied by name into the zoo's own graph).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, replaceHead, useBackend } from '../../src/index.js';
import { copyWeightsByName } from '../../src/entries/io.js';
import { buildZooModel, pretrainedConfig, zooIds } from '../../src/entries/models.js';
import { asset } from '../helpers/assets.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const trainable = (m: { trainableWeights: { shape: (number | null)[] }[] }) => m.trainableWeights.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);

describe('zoo architectures', () => {
  // Totals as Keras' model.summary() prints them (BatchNorm statistics included); ResNet18 as
  // torchvision counts parameters (sum(p.numel() for p in model.parameters())).
  const cases: Array<[string, boolean, number, 'total' | 'trainable']> = [
    ['vgg16', false, 14_714_688, 'total'],
    ['vgg16', true, 138_357_544, 'total'],
    ['resnet50', false, 23_587_712, 'total'],
    ['resnet50', true, 25_636_712, 'total'],
    ['mobilenet_v2', false, 2_257_984, 'total'],
    ['mobilenet_v2', true, 3_538_984, 'total'],
    ['mobilenet_v2_0.35_224', false, 410_208, 'total'],
    ['resnet18.tv_in1k', true, 11_689_512, 'trainable'],
    ['mobilenet_v2.tv_in1k', true, 3_504_872, 'trainable'],
    // Keras prints 4,049,571 / 5,330,571: its in-graph Normalization adds 7 statistics (mean, variance, count).
    ['efficientnet_b0', false, 4_049_564, 'total'],
    ['efficientnet_b0', true, 5_330_564, 'total'],
  ];
  for (const [id, top, count, kind] of cases) {
    it(`${id}${top ? ' with top' : ' without top'}: ${count.toLocaleString('en')} parameters (${kind})`, () => {
      const { model } = buildZooModel(id, { includeTop: top });
      expect(kind === 'total' ? model.countParams() : trainable(model)).toBe(count);
      model.dispose();
    });
  }

  it('a zoo model with its top carries the 1000 ImageNet class names in label order', async () => {
    const pm = await loadPretrained('mobilenet_v2_0.35_224', { weights: null, includeTop: true, inputShape: [96, 96, 3] });
    expect(pm.classNames).toHaveLength(1000);
    // Spot checks against the ImageNet-1k synset order (n01440764 tench, ..., n15075141 toilet tissue).
    expect([pm.classNames?.[0], pm.classNames?.[207], pm.classNames?.[281], pm.classNames?.[999]]).toEqual(['tench', 'golden retriever', 'tabby', 'toilet tissue']);
    expect((await loadPretrained('mobilenet_v2_0.35_224', { weights: null })).classNames).toBeUndefined();
  });

  it('every id has a config with a feature layer that exists, and resolvable sources', () => {
    const ids = zooIds();
    expect(ids).toContain('mobilenet_v2_0.35_224');
    for (const id of ['vgg16', 'resnet50', 'efficientnet_b0', 'resnet18.tv_in1k', 'mobilenet_v2.tv_in1k', 'mobilenet_v2_1.4_224', 'mobilenet_v2_0.5_96']) {
      const cfg = pretrainedConfig(id);
      expect(cfg?.sources.length).toBeGreaterThan(0);
      const { model } = buildZooModel(id, { includeTop: false });
      const names = model.layers.map((l) => l.name);
      expect(names).toContain(cfg?.featureLayer);
      for (const s of cfg?.stageFeatures ?? []) expect(names).toContain(s);
      model.dispose();
    }
    expect(pretrainedConfig('mobilenet_v2_0.6_224')).toBeNull();
  });

  it('efficientnet_b0 trains: one fineTune step on its base at 32 px changes the SE and block weights', async () => {
    const { fineTune } = await import('../../src/index.js');
    const pm = replaceHead(await loadPretrained('efficientnet_b0', { weights: null, inputShape: [32, 32, 3] }), { numClasses: 2, seed: 1 });
    const before = pm.model.getLayer('block6d_se_reduce').getWeights()[0].dataSync().slice();
    const xs = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 2);
    await fineTune(pm, { xs, labels: Int32Array.from([0, 1, 0, 1]), classNames: ['a', 'b'] }, { recipe: 'full', epochs: 1, batchSize: 4, learningRate: 1e-2 });
    const after = pm.model.getLayer('block6d_se_reduce').getWeights()[0].dataSync();
    expect(after.some((v, i) => v !== before[i])).toBe(true);
    xs.dispose();
  }, 120_000);

  it("loadPretrained(id, { weights: null }) gives a trainable base; offline without the file it says which file to place where", async () => {
    const pm = await loadPretrained('resnet50', { weights: null, inputShape: [64, 64, 3] });
    expect(pm.featureLayer).toBe('conv5_block3_out');
    expect(pm.model.outputs[0].shape).toEqual([null, 2, 2, 2048]);
    const m = replaceHead(pm, { numClasses: 3, seed: 1 });
    const y = tf.tidy(() => m.model.predict(tf.zeros([1, 64, 64, 3])) as tf.Tensor);
    expect(y.shape).toEqual([1, 3]);
    y.dispose();
    const cacheDir = (await import('node:fs')).mkdtempSync((await import('node:path')).join((await import('node:os')).tmpdir(), 'tk-cache-'));
    await expect(loadPretrained('resnet50', { download: { offline: true, cacheDir } })).rejects.toMatchObject({
      code: 'E_IO_NOT_FOUND',
      message: expect.stringMatching(/download https:\/\/storage\.googleapis\.com\/tensorflow\/keras-applications\/resnet\/resnet50_weights_tf_dim_ordering_tf_kernels_notop\.h5 yourself and place it at .*tk-cache-/),
    });
  });
});

describe('parity with the real TF.js MobileNetV2 exports', () => {
  for (const [rel, id] of [['models/mobilenet_v2_0.35_224_teachable', 'mobilenet_v2_0.35_224'], ['models/mobilenet_v2_1.0_224_nsfwjs', 'mobilenet_v2_1.0_224']] as const) {
    it(`${id}: the zoo graph with weights copied by name equals TF.js's own deserialisation (1e-5)`, async (ctx) => {
      const dir = asset(rel);
      if (dir === null) return ctx.skip();
      const ref = await loadPretrained(dir, { cutAt: 'out_relu' });
      const { model } = buildZooModel(id, { includeTop: false });
      const report = copyWeightsByName(model, ref.model);
      expect(report.copied.length).toBe(model.weights.length);
      const x = tf.randomUniform([2, 224, 224, 3], -1, 1, 'float32', 4);
      const a = ref.model.predict(x) as tf.Tensor;
      const b = model.predict(x) as tf.Tensor;
      expect(b.shape).toEqual(a.shape);
      const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
      const scale = tf.max(tf.abs(a)).dataSync()[0];
      expect(diff / scale).toBeLessThan(1e-5);
      expect(scale).toBeGreaterThan(0.1);
      tf.dispose([x, a, b]);
      model.dispose();
    }, 60_000);
  }

  it('a strict copy between different widths fails, listing the wrongly shaped weights by name', async (ctx) => {
    const dir = asset('models/mobilenet_v2_0.35_224_teachable');
    if (dir === null) return ctx.skip();
    const ref = await loadPretrained(dir, { cutAt: 'out_relu' });
    const { model } = buildZooModel('mobilenet_v2_1.0_224', { includeTop: false });
    expect(() => copyWeightsByName(model, ref.model)).toThrow(/Wrong shape \(\d+\): Conv1\/kernel: target \[3, 3, 3, 32\] vs source \[3, 3, 3, 16\]/);
    const loose = copyWeightsByName(model, ref.model, { strict: false });
    expect(loose.mismatched.length).toBeGreaterThan(0);
    expect(loose.copied.length + loose.mismatched.length + loose.missing.length).toBe(model.weights.length);
    model.dispose();
  });
});
