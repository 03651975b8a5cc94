/**
 * Runs a TypeScript test fixture in its own Node process (for settings fixed per process, such as
 * the wasm thread count, or work that would block the test worker) and parses the last JSON line
 * it prints.
 */
import * as path from 'node:path';
import { runAsync } from './run.js';

export interface ChildResult<T> {
  code: number | null;
  out: T | null;
  stderr: string;
}

export async function runTsChild<T>(script: string, env: Record<string, string>, timeout = 280_000): Promise<ChildResult<T>> {
  const r = await runAsync(process.execPath, ['--import', 'tsx', script], { cwd: path.resolve(__dirname, '../..'), env: { ...process.env, ...env }, timeout });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  return { code: r.status, out: line ? (JSON.parse(line) as T) : null, stderr: r.stderr };
}
