/**
 * Runs a child process to its end asynchronously. Tests must not use spawnSync/execFileSync for
 * anything that can take long (Python fixtures, npm, the CLI): a blocked worker event loop lets
 * vitest's 60 s RPC timer fire before the main process's answer is read, and the run then fails
 * with `[vitest-worker]: Timeout calling "onTaskUpdate"` although every test passed (CI run of
 * stop 36). ESLint's no-restricted-imports rule for test/ (eslint.config.js) keeps it that way.
 */
import { spawn } from 'node:child_process';

export interface ProcessRun {
  /** Exit code; null when killed by a signal (the timeout included). */
  status: number | null;
  signal: NodeJS.Signals | null;
  /** True when the child was killed because it ran past `timeout`. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
  /** Milliseconds before the child's process group is killed with SIGKILL (default 5 minutes, a test's timeout). */
  timeout?: number;
}

/** `cmd ...args` to its end; rejects only when it cannot start (check `status` for the rest). */
export function runAsync(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    // Its own process group, so the timeout also ends grandchildren that hold the pipes (npm's).
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, detached: true, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    // Decoded as a stream: a multi-byte character split across chunks stays whole.
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeout ?? 300_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, timedOut, stdout, stderr: timedOut ? `${stderr}\n[killed after ${options.timeout ?? 300_000} ms]` : stderr });
    });
    if (options.input !== undefined) {
      // A child that exits before reading its input: EPIPE here; its status and stderr say why.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input);
    }
  });
}
