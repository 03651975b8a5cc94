/**
 * Frozen-encoder throughput: embeddings/s of the SAME BERT (same weights, same tokenizer) run by
 * ONNX Runtime (through @huggingface/transformers) and by transferkit's TF.js model on wasm, in the
 * same run, with peak memory. Shapes: BERT-tiny (2 x 128) and BERT-mini (4 x 256), random weights
 * (examples/_bert_onnx_fixture.ts builds them and exports the ONNX graph with
 * scripts/onnx_export_bert.py, so /usr/bin/python3 needs torch). Texts: SST-2 dev sentences from
 * ../shared (synthetic sentences when absent), truncated at 128 tokens, batches of 32, mean pooling.
 *
 *   npm run bench:encoders
 *   npm run bench:encoders -- --models tiny --texts 128
 *
 * Each configuration runs in its own child process (its own peak RSS); one warm-up batch, then all
 * texts timed. ONNX Runtime runs with 1 thread (wasm's count here) and with its default (a thread
 * per core). Output: one JSON line per measurement, then a summary line with the ratios.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { lastJson } from './_timing.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SIZES = { tiny: { layers: 2, hidden: 128, heads: 2 }, mini: { layers: 4, hidden: 256, heads: 4 } } as const;
type Size = keyof typeof SIZES;
interface Job { runtime: 'onnxruntime' | 'tfjs-wasm'; threads?: number; model: Size; hfDir: string; onnxDir: string; textsFile: string; batch: number; maxLength: number }
type Result = Record<string, unknown> & { runtime: string; model: string; embeddingsPerSec?: number };

async function child(job: Job): Promise<void> {
  const tk = { ...(await import('transferkit')), ...(await import('transferkit/encoders')), ...(await import('transferkit/text')) };
  const texts = JSON.parse(fs.readFileSync(job.textsFile, 'utf8')) as string[];
  let encoder;
  if (job.runtime === 'onnxruntime') {
    await tk.useBackend('cpu');
    encoder = await tk.loadOnnxEncoder(job.onnxDir, { maxLength: job.maxLength, ...(job.threads !== undefined ? { threads: job.threads } : {}) });
  } else {
    await tk.useBackend('wasm');
    encoder = await tk.textEncoder(await tk.loadTextModel(job.hfDir), { maxLength: job.maxLength });
  }
  await encoder.encode(texts.slice(0, job.batch)); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < texts.length; i += job.batch) await encoder.encode(texts.slice(i, i + job.batch));
  const sec = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({
    runtime: job.runtime, threads: job.threads ?? (job.runtime === 'onnxruntime' ? `default (${os.cpus().length} cores)` : 1), model: job.model, ...SIZES[job.model],
    texts: texts.length, batch: job.batch, maxLength: job.maxLength, embeddingsPerSec: Number((texts.length / sec).toFixed(1)), seconds: Number(sec.toFixed(2)),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }));
}

function sentences(n: number): string[] {
  const sst = path.resolve(here, '..', '..', 'shared', 'data', 'sst2', 'dev.tsv');
  const file = process.env.TRANSFERKIT_ASSETS ? path.join(process.env.TRANSFERKIT_ASSETS, 'data/sst2/dev.tsv') : sst;
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t')[0]).slice(0, n);
  console.error(`[bench] ${file} absent: synthetic sentences`);
  const words = ['the', 'film', 'is', 'a', 'good', 'bad', 'story', 'with', 'great', 'acting', 'and', 'boring', 'plot', 'not', 'fun'];
  return Array.from({ length: n }, (_, i) => Array.from({ length: 8 + (i % 30) }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(' '));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      models: { type: 'string', default: 'tiny,mini' },
      texts: { type: 'string', default: '800' },
      batch: { type: 'string', default: '32' },
      'max-length': { type: 'string', default: '128' },
    },
  });
  if (values.child !== undefined) return child(JSON.parse(values.child) as Job);
  const { bertOnnxFixture } = await import('../examples/_bert_onnx_fixture.js');
  await (await import('transferkit')).useBackend('wasm');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-bench-encoders-'));
  const texts = sentences(Number(values.texts));
  const textsFile = path.join(dir, 'texts.json');
  fs.writeFileSync(textsFile, JSON.stringify(texts));
  const results: Result[] = [];
  for (const model of values.models.split(',') as Size[]) {
    const s = SIZES[model];
    const fx = await bertOnnxFixture(path.join(dir, model), { ...s, vocabSize: 8000, seed: 1 }, texts);
    fx.textModel.model.dispose();
    const base = { model, hfDir: fx.hfDir, onnxDir: fx.onnxDir, textsFile, batch: Number(values.batch), maxLength: Number(values['max-length']) };
    for (const job of [{ ...base, runtime: 'tfjs-wasm' as const }, { ...base, runtime: 'onnxruntime' as const, threads: 1 }, { ...base, runtime: 'onnxruntime' as const }]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const res = lastJson<Result>(r.stdout);
      if (r.status !== 0 || res === null) {
        console.log(JSON.stringify({ runtime: job.runtime, model, error: (r.stderr || 'no output').trim().split('\n').slice(-3).join(' | ') }));
        continue;
      }
      results.push(res);
      console.log(JSON.stringify(res));
    }
  }
  const summary: Record<string, unknown> = {};
  for (const model of values.models.split(',')) {
    const of = (rt: string, t: (x: Result) => boolean) => results.find((x) => x.model === model && x.runtime === rt && t(x))?.embeddingsPerSec;
    const wasm = of('tfjs-wasm', () => true);
    const ort1 = of('onnxruntime', (x) => x.threads === 1);
    const ortN = of('onnxruntime', (x) => x.threads !== 1);
    if (wasm && ort1) summary[`${model}_onnx1thread_over_tfjsWasm`] = Number((ort1 / wasm).toFixed(2));
    if (wasm && ortN) summary[`${model}_onnxDefault_over_tfjsWasm`] = Number((ortN / wasm).toFixed(2));
  }
  console.log(JSON.stringify({ summary }));
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
