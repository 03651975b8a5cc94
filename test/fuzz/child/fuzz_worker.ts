/**
 * One fuzz target in its own process (so a hang or a memory blow-up is observable and killable
 * from outside): builds the seeds, then for inputs [from, to) writes the mutated folder, runs the
 * loader and prints one JSON line per input: the outcome, the milliseconds, the error code or
 * the raw error, and the tensors alive after it. Environment: TK_FUZZ_TARGET (index),
 * TK_FUZZ_FROM, TK_FUZZ_TO, TK_FUZZ_SEED, TK_FUZZ_ROOT (sandbox folder).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isTransferKitError, setInputLimits, useBackend } from '../../../src/index.js';
import { Mutator } from '../mutate.js';
import { defaultMutate, liveTensors, TARGETS } from '../targets.js';

async function main(): Promise<void> {
  const target = TARGETS[Number(process.env.TK_FUZZ_TARGET)];
  const from = Number(process.env.TK_FUZZ_FROM);
  const to = Number(process.env.TK_FUZZ_TO);
  const seed = Number(process.env.TK_FUZZ_SEED);
  const root = process.env.TK_FUZZ_ROOT as string;
  await useBackend('cpu');
  // The HDF5 library loops forever on some damaged files; its deadline is the documented limit,
  // lowered so that such an input costs the suite 5 s, not 30.
  setInputLimits({ parseTimeoutMs: 5000 });
  // Silence the library's warnings (e.g. unused weights): the outcome is what counts here.
  console.warn = () => undefined;
  const seeds = await target.seeds(path.join(root, 'seeds'));
  if (typeof seeds === 'string') {
    process.stdout.write(`${JSON.stringify({ skip: seeds })}\n`);
    return;
  }
  // The canaries a path trick would reach: copies of every seed file, one folder up from the inputs' parent.
  const outside = path.join(root, 'outside');
  fs.mkdirSync(outside, { recursive: true });
  for (const s of seeds) for (const [name, bytes] of s) fs.writeFileSync(path.join(outside, name), bytes);
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for (let i = from; i < to; i++) {
    const m = new Mutator(seed * 1_000_003 + i);
    const s = seeds[i % seeds.length];
    const { files, mutation } = (target.mutate ?? defaultMutate)(s, m);
    const dir = path.join(root, 'in', String(i));
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of files) fs.writeFileSync(path.join(dir, name), bytes);
    const before = liveTensors();
    const t0 = performance.now();
    let outcome: 'ok' | 'coded' | 'raw' = 'ok';
    let detail: string | undefined;
    let message = '';
    try {
      await target.run(dir);
    } catch (err) {
      if (isTransferKitError(err)) {
        outcome = 'coded';
        detail = err.code;
        message = err.message;
      } else {
        outcome = 'raw';
        detail = `${(err as Error)?.name}: ${String((err as Error)?.message ?? err).slice(0, 300)} @ ${String((err as Error)?.stack ?? '').split('\n').slice(1, 3).join(' | ').trim()}`;
      }
    }
    const ms = performance.now() - t0;
    fs.rmSync(dir, { recursive: true, force: true });
    // A path trick escaped when the load succeeded on the removed file's outside copy, or when it
    // failed on that copy (its message names the canary's real path) for another reason than the escape.
    const escaped = mutation.escapeAttempt !== undefined && (outcome === 'ok' || (detail !== 'E_IO_PATH_ESCAPE' && message.includes(`${outside}${path.sep}`)));
    process.stdout.write(`${JSON.stringify({ i, outcome: escaped ? 'escape' : outcome, detail, what: mutation.what, ms: Math.round(ms), tensors: liveTensors() - before, rss: process.memoryUsage().rss })}\n`);
  }
  process.stdout.write(`${JSON.stringify({ done: true, maxRssKb: process.resourceUsage().maxRSS })}\n`);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ fatal: String((err as Error)?.stack ?? err) })}\n`);
  process.exitCode = 1;
});
