/** doctor(): probes every backend, restores the active one, and advises; the CLI prints the same. */
import * as os from 'node:os';
import { runCli } from '../helpers/cli.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { doctor, useBackend, type DoctorReport } from '../../src/index.js';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('doctor', () => {
  it('reports wasm and cpu as trainable, names the missing native peer, and restores the backend', async () => {
    const report = await doctor();
    expect(tf.getBackend()).toBe('cpu');
    const by = (n: string) => report.backends.find((b) => b.name === n);
    // wasm's pool: one thread per core by default (TRANSFERKIT_WASM_THREADS overrides), at most 8.
    const wantThreads = process.env.TRANSFERKIT_WASM_THREADS ? Number(process.env.TRANSFERKIT_WASM_THREADS) : Math.min(8, os.cpus().length);
    expect(by('wasm')).toMatchObject({ available: true, canTrain: true, threads: wantThreads });
    expect(by('cpu')).toMatchObject({ available: true, canTrain: true });
    let nativeInstalled = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      nativeInstalled = false;
    }
    if (!nativeInstalled) expect(by('tensorflow')?.detail).toContain('@tensorflow/tfjs-node');
    // webgpu is available exactly when Dawn found an adapter (llvmpipe here without a GPU).
    expect(by('webgpu')?.available).toBe(report.gpuAdapters.length > 0);
    expect(report.advice.length).toBeGreaterThan(0);
    // Frozen ONNX encoders: reported from the optional peer (a devDependency here).
    expect(report.onnxEncoders).toMatchObject({ available: true });
    expect(report.onnxEncoders?.detail).toMatch(/@huggingface\/transformers \d+\.\d+/);
  }, 120_000);

  it('`transferkit doctor --json` prints the same report', async (ctx) => {
    const cli = path.resolve(__dirname, '../../dist/cli.js');
    if (!fs.existsSync(cli)) {
      console.log('[skip] dist/cli.js not built (npm test builds it first)');
      return ctx.skip();
    }
    const r = await runCli(cli, ['doctor', '--json'], 120_000);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as DoctorReport;
    expect(report.backends.map((b) => b.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'webgpu']);
    const bad = await runCli(cli, ['train']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("Unknown command 'train'");
  }, 120_000);
});
