/**
 * GPU dispatches per training step and per inference batch on webgpu, pinned so that a change
 * adding dispatches fails (issue: a step bound by per-dispatch JavaScript, not by the GPU).
 * Dispatch counts are deterministic, so this runs on Mesa's llvmpipe in CI. The counts barely
 * depend on image size or batch (a few matmul variants), so the models run small here: MobileNetV2
 * 1.0 at 224 px, batch 2; ResNet50 at 96 px, batch 1. `npm run bench` prints the counts at the
 * benchmark's sizes. Before transferkit's WGSL kernels (2026-12-07): MobileNetV2 4,282 per step and
 * 489 per inference batch, ResNet50 5,094 and 465.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { countGpuDispatches } from '../../src/entries/backends.js';
import { asset } from '../helpers/assets.js';
import { caught } from '../helpers/errors.js';
import { runTsChild } from '../helpers/child.js';
import { webgpuForTests } from '../helpers/webgpu.js';

const webgpu = webgpuForTests();

interface Counts { dispatches: number; bindGroups: number; uniformWrites: number; byProgram: Array<[string, number]>; byKernel: Array<[string, number]> }
interface ChildCounts { skip?: string; variables: number; train: Counts; infer: Counts; tensorsBefore: number; tensorsAfter: number }

/** Dispatches of one warm training step (Adam, every layer trained) and one inference batch, counted in a child process (see the child for why). */
async function countModel(env: Record<string, string>): Promise<ChildCounts> {
  const r = await runTsChild<ChildCounts>(path.join(__dirname, 'child', 'webgpu_dispatch_child.ts'), env);
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  const out = r.out as ChildCounts;
  expect(out, r.stderr.slice(-2000)).not.toBeNull();
  if (out.skip === undefined) expect(out.tensorsAfter).toBe(out.tensorsBefore); // no tensor leaks through the WGSL kernels
  return out;
}

const show = (c: Counts) =>
  `${c.dispatches} dispatches; by program ${c.byProgram.slice(0, 8).map(([k, v]) => `${k}:${v}`).join(' ')}; by kernel ${c.byKernel.slice(0, 8).map(([k, v]) => `${k}:${v}`).join(' ')}`;

describe('webgpu dispatches per step (llvmpipe in CI)', () => {
  it('countGpuDispatches counts every dispatch, names its program, and refuses misuse', async (ctx) => {
    if (webgpu.info === null) {
      console.log(`[skip] webgpu: ${webgpu.why}`);
      return ctx.skip();
    }
    await tf.setBackend('webgpu');
    const a = tf.randomNormal([64, 64], 0, 1, 'float32', 1);
    const { result, counts } = await countGpuDispatches(async () => {
      const s = tf.tidy(() => tf.add(tf.mul(a, 2), 1)); // two element-wise dispatches
      const v = await s.data();
      s.dispose();
      return v.length;
    });
    expect(result).toBe(4096);
    expect(counts.dispatches).toBe(2);
    expect(counts.bindGroups).toBe(2);
    expect(counts.byKernel.map(([k]) => k).sort()).toEqual(['Add', 'Multiply']);
    const nested = await caught(() => countGpuDispatches(() => countGpuDispatches(() => 1)));
    expect(nested.message).toMatch(/already running/);
    // The wrappers are gone afterwards: a dispatch outside a count is not counted anywhere.
    const after = await countGpuDispatches(() => 0);
    expect(after.counts.dispatches).toBe(0);
    await tf.setBackend('cpu');
    const wrong = await caught(() => countGpuDispatches(() => 1));
    expect(wrong.message).toMatch(/needs the webgpu backend.*'cpu'.*useBackend\('webgpu'\)/);
    await tf.setBackend('webgpu');
    a.dispose();
  });

  it('MobileNetV2 1.0, 224 px: a training step stays <= 600 dispatches (from 4,282), inference <= 140 (from 489)', async (ctx) => {
    const dir = asset('models/mobilenet_v2_1.0_224_nsfwjs');
    if (webgpu.info === null || dir === null) return ctx.skip();
    const r = await countModel({ MODEL: 'mobilenet_v2', DIR: dir });
    expect(r.skip, 'this process started webgpu, the child could not').toBeUndefined();
    console.log(`[dispatches] MobileNetV2 1.0 train step (${r.variables} variables): ${show(r.train)}`);
    console.log(`[dispatches] MobileNetV2 1.0 inference batch: ${show(r.infer)}`);
    expect(r.variables).toBe(158);
    expect(r.train.dispatches).toBeLessThanOrEqual(600);
    expect(r.infer.dispatches).toBeLessThanOrEqual(140);
    // The optimizer is one dispatch per parameter; training BatchNorm 2 forward and 2 backward
    // per layer, ReLU6 included where it follows the BN (35 of the 52), so no ReLU6 of its own.
    const by = (name: string) => r.train.byKernel.find(([k]) => k === name)?.[1] ?? 0;
    expect(by('TkAdamUpdate')).toBe(158);
    expect(by('TkBatchNormActTrain')).toBe(2 * 35);
    expect(by('TkBatchNormTrain')).toBe(2 * 17);
    expect(by('TkBatchNormActTrainGrad') + by('TkBatchNormTrainGrad')).toBe(2 * 52);
    expect(by('ClipByValue') + by('TkClipByValueGrad')).toBe(0);
    // Uniforms: transferkit's kernels reuse theirs once the shapes were seen (all but Adam's,
    // whose bias corrections change every step); TF.js's programs write theirs every dispatch.
    const reusing = r.train.byProgram.filter(([k]) => !k.endsWith('Program') && k !== 'TkAdamUpdate').reduce((n, [, v]) => n + v, 0);
    expect(reusing).toBeGreaterThan(200);
    expect(r.train.uniformWrites).toBe(r.train.dispatches - reusing);
  }, 300_000);

  it('ResNet50, 96 px: a training step stays <= 850 dispatches (from 5,094), inference <= 160 (from 465)', async (ctx) => {
    if (webgpu.info === null) return ctx.skip();
    const r = await countModel({ MODEL: 'resnet50' });
    expect(r.skip, 'this process started webgpu, the child could not').toBeUndefined();
    console.log(`[dispatches] ResNet50 train step (${r.variables} variables): ${show(r.train)}`);
    console.log(`[dispatches] ResNet50 inference batch: ${show(r.infer)}`);
    expect(r.train.dispatches).toBeLessThanOrEqual(850);
    expect(r.infer.dispatches).toBeLessThanOrEqual(160);
  }, 300_000);
});
