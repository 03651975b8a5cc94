/**
 * Names any test that blocked its worker's event loop for more than 10 s at once. Past 60 s
 * vitest's RPC timer fires before the main process's answer is read and the whole run fails with
 * `[vitest-worker]: Timeout calling "onTaskUpdate"`, an error that names no test; this warning
 * names the test first (test/helpers/run.ts runs children asynchronously for the same reason).
 */
import { afterAll, afterEach, beforeEach } from 'vitest';

// Captured now: a test that installs fake timers (which fake Date too) must not stop the watch,
// skew it, or hang its hooks.
const { setInterval, setTimeout } = globalThis;
const now = Date.now;
const PERIOD_MS = 500;
const WARN_MS = 10_000;
let last = now();
let longest = 0;
setInterval(() => {
  const t = now();
  longest = Math.max(longest, t - last - PERIOD_MS);
  last = t;
}, PERIOD_MS).unref();

/** Warns when the loop was blocked since the last check, then starts a new window. */
async function check(where: string): Promise<void> {
  // An overdue interval fires before this later timer: a block that just ended is counted.
  await new Promise((resolve) => setTimeout(resolve, 1));
  if (longest > WARN_MS) {
    console.warn(`[event-loop] ${where} blocked this worker for ${(longest / 1000).toFixed(1)} s at once: run long synchronous work in a child process or yield (vitest's RPC times out at 60 s)`);
  }
  longest = 0;
}

beforeEach((ctx) => check(`loading the file or a hook before "${ctx.task.name}"`));
afterEach((ctx) => check(`"${ctx.task.name}" (the test or its beforeEach/afterEach hooks)`));
afterAll(() => check('an afterAll hook'));
