/**
 * Runs a TypeScript test fixture in its own Node process (for settings fixed per process, such as
 * the wasm thread count) and parses the last JSON line it prints.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

export interface ChildResult<T> {
  code: number | null;
  out: T | null;
  stderr: string;
}

export function runTsChild<T>(script: string, env: Record<string, string>): Promise<ChildResult<T>> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
      resolve({ code, out: line ? (JSON.parse(line) as T) : null, stderr });
    });
  });
}
