/**
 * Fine-tuning throughput (sequences/s) of BERT-tiny (2 layers x 128, google/bert_uncased_L-2_H-128_A-2)
 * and BERT-mini (4 x 256, L-4_H-256_A-4) at sequence length 128, batch 32, vocabulary 30522: one
 * full step of the HF recipe (forward with dropout, cross-entropy, backward, clip at 1.0, AdamW),
 * with PyTorch's figure for the same work in the same run when /usr/bin/python3 has torch
 * (bench/torch_bert.py, stock torch.nn modules).
 *
 *   npm run bench:bert
 *   npm run bench:bert -- --backends wasm --models tiny --steps 3 --torch off
 *
 * Each figure is the median of `--steps` timed steps after two warm-ups; each configuration runs
 * in its own child process (peak memory per configuration). Output: one JSON line per
 * measurement, then a summary line with transferkit / PyTorch ratios.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { lastJson, medianStepSeconds } from './_timing.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SIZES = { tiny: { layers: 2, hidden: 128, heads: 2 }, mini: { layers: 4, hidden: 256, heads: 4 } } as const;
type Size = keyof typeof SIZES;
interface Job { backend: string; model: Size; seq: number; batch: number; steps: number }
type Result = Record<string, unknown> & { framework: string; samplesPerSec?: number };

async function child(job: Job): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  const tk = { ...(await import('transferkit')), ...(await import('transferkit/optimizers')), ...(await import('transferkit/text')) };
  const info = await tk.useBackend(job.backend as never);
  const s = SIZES[job.model];
  const tm = tk.buildTextModel(
    { model_type: 'bert', vocab_size: 30522, hidden_size: s.hidden, num_hidden_layers: s.layers, num_attention_heads: s.heads, intermediate_size: 4 * s.hidden },
    { task: 'sequence-classification', numLabels: 2, seed: 1 },
  );
  const ids = tf.randomUniform([job.batch, job.seq], 5, 30522, 'int32', 1);
  const feed = [ids, tf.onesLike(ids), tf.zerosLike(ids)];
  const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: job.batch }, (_, i) => i % 2), 'int32'), 2);
  const opt = new tk.AdamW(tk.textParamGroups(tm, 0.01), { learningRate: 2e-5 });
  const vars = opt.variables;
  const step = async (): Promise<void> => {
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(tm.model.apply(feed, { training: true }) as import('@tensorflow/tfjs-core').Tensor)), -1))) as import('@tensorflow/tfjs-core').Scalar, vars);
    const clipped = tk.clipGradNorm(grads, 1.0);
    opt.step(clipped.grads);
    await value.data();
    tf.dispose([value, clipped.totalNorm, ...Object.values(grads), ...Object.values(clipped.grads)]);
  };
  const sec = await medianStepSeconds(step, job.steps);
  // GEMM rate on a Dense-sized product, as torch_bert.py reports for its BLAS.
  const x = tf.randomNormal([job.batch * job.seq, s.hidden]);
  const w = tf.randomNormal([s.hidden, 4 * s.hidden]);
  tf.matMul(x, w).dispose();
  const g0 = performance.now();
  for (let i = 0; i < 5; i++) await tf.matMul(x, w).data();
  const gemmGflops = (2 * job.batch * job.seq * s.hidden * 4 * s.hidden) / ((performance.now() - g0) / 5 / 1000) / 1e9;
  console.log(JSON.stringify({ framework: 'transferkit', ...job, ...s, threads: info.threads, params: tm.model.countParams(), gemmGflops: Number(gemmGflops.toFixed(1)), samplesPerSec: Number((job.batch / sec).toFixed(2)), stepSeconds: Number(sec.toFixed(3)), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      backends: { type: 'string', default: 'wasm' },
      models: { type: 'string', default: 'tiny,mini' },
      seq: { type: 'string', default: '128' },
      batch: { type: 'string', default: '32' },
      steps: { type: 'string', default: '5' },
      torch: { type: 'string', default: 'auto' },
      python: { type: 'string', default: '/usr/bin/python3' },
    },
  });
  if (values.child !== undefined) return child(JSON.parse(values.child) as Job);
  const results: Result[] = [];
  const emit = (r: Result): void => {
    results.push(r);
    console.log(JSON.stringify(r));
  };
  const seq = Number(values.seq);
  const batch = Number(values.batch);
  const steps = Number(values.steps);
  const models = (values.models as string).split(',') as Size[];
  for (const backend of (values.backends as string).split(',')) {
    for (const model of models) {
      const job: Job = { backend, model, seq, batch, steps };
      const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { encoding: 'utf8', timeout: 1_800_000, maxBuffer: 1 << 26 });
      emit(lastJson<Result>(r.stdout ?? '') ?? { framework: 'transferkit', ...job, skipped: `failed: ${(r.stderr ?? '').split('\n').filter((l) => /Error/.test(l)).slice(0, 2).join(' | ').slice(0, 300) || `exit ${r.status}`}` });
    }
  }
  const python = values.python as string;
  const hasTorch = values.torch !== 'off' && spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  if (!hasTorch) emit({ framework: 'pytorch', skipped: values.torch === 'off' ? 'disabled (--torch off)' : `${python} cannot import torch (apt-get install python3-torch)` });
  else {
    for (const model of models) {
      for (const threads of [1, 2]) {
        const s = SIZES[model];
        const r = spawnSync(python, [path.join(here, 'torch_bert.py'), '--layers', String(s.layers), '--hidden', String(s.hidden), '--heads', String(s.heads), '--seq', String(seq), '--batch', String(batch), '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8', timeout: 1_800_000 });
        emit({ model, ...(lastJson<Result>(r.stdout ?? '') ?? { framework: 'pytorch', threads, skipped: `failed: ${(r.stderr ?? '').slice(-300)}` }) });
      }
    }
  }
  const ratios: Record<string, number> = {};
  for (const r of results.filter((x) => x.framework === 'transferkit' && x.samplesPerSec !== undefined)) {
    for (const t of results.filter((x) => x.framework === 'pytorch' && x.model === r.model && x.samplesPerSec !== undefined)) {
      ratios[`${r.backend}/${r.model} vs torch ${t.threads}t`] = Number(((r.samplesPerSec as number) / (t.samplesPerSec as number)).toFixed(3));
    }
  }
  console.log(JSON.stringify({ summary: 'transferkit sequences/s divided by PyTorch sequences/s: BERT fine-tuning step, seq 128, batch 32, same machine and run', seq, batch, ratios }));
}

void main();
