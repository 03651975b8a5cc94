/** Runs the built CLI in a child process to the end, asynchronously (see ./run.ts for why). */
import { runAsync, type ProcessRun } from './run.js';

// Without `timedOut`: the CLI tests' own pipe-handling runners build these too.
export type CliRun = Omit<ProcessRun, 'timedOut'>;

/** `node <cli> ...args`, killed after `timeout` ms. */
export function runCli(cli: string, args: string[], timeout = 300_000): Promise<CliRun> {
  return runAsync(process.execPath, [cli, ...args], { timeout });
}
