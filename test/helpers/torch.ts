import { spawnSync } from 'node:child_process';

/** Debian's python3 with torch (the pyenv python3 on PATH has none). */
export const PYTHON = process.env.TRANSFERKIT_PYTHON ?? '/usr/bin/python3';

let available: boolean | null = null;

/** True when PYTHON imports torch; prints why not once otherwise. */
export function torchAvailable(): boolean {
  if (available === null) {
    const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
    available = r.status === 0;
    if (!available) console.warn(`[skip] ${PYTHON} cannot import torch (apt-get install python3-torch); PyTorch reference checks are skipped`);
  }
  return available;
}

/** Runs `script` with JSON `input` on stdin and parses its stdout as JSON. */
export function runPython<T>(script: string, input: unknown): T {
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
