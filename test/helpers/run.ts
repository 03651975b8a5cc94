/**
 * Runs a child process to its end asynchronously. Tests must not use spawnSync/execFileSync for
 * anything that can take long (Python fixtures, npm, the CLI): a blocked worker event loop lets
 * vitest's 60 s RPC timer fire before the main process's answer is read, and the run then fails
 * with `[vitest-worker]: Timeout calling "onTaskUpdate"` although every test passed
 * (CI run of stop 36). test/structure/no_sync_spawn.test.ts keeps it that way.
 */
import { spawn } from 'node:child_process';

export interface ProcessRun {
  /** Exit code; null when killed by a signal (the timeout included). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
  /** Milliseconds before the child is killed with SIGKILL (default 10 minutes). */
  timeout?: number;
}

/** `cmd ...args` to its end; never rejects for a failing exit status (check `status`). */
export function runAsync(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 600_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
