import { runAsync } from './run.js';

/** Debian's python3 with torch (the pyenv python3 on PATH has none). */
export const PYTHON = process.env.TRANSFERKIT_PYTHON ?? '/usr/bin/python3';

const probes = new Map<string, Promise<boolean>>();

/** True when PYTHON imports every module of `modules` (comma-separated); asked once per process. */
export function pythonImports(modules: string): Promise<boolean> {
  let probe = probes.get(modules);
  if (probe === undefined) {
    probe = runAsync(PYTHON, ['-c', `import ${modules}`]).then(
      (r) => r.status === 0,
      () => false,
    );
    probes.set(modules, probe);
  }
  return probe;
}

let warned = false;

/** True when PYTHON imports torch; prints why not once otherwise. */
export async function torchAvailable(): Promise<boolean> {
  const ok = await pythonImports('torch');
  if (!ok && !warned) {
    warned = true;
    console.warn(`[skip] ${PYTHON} cannot import torch (apt-get install python3-torch); PyTorch reference checks are skipped`);
  }
  return ok;
}

/** Runs `script` with JSON `input` on stdin and parses its stdout as JSON. */
export async function runPython<T>(script: string, input: unknown): Promise<T> {
  const r = await runAsync(PYTHON, ['-c', script], { input: JSON.stringify(input) });
  if (r.status !== 0) throw new Error(`python failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs a Python script file (or `-c` code) with arguments; the run, whatever its status. */
export function runPythonScript(args: readonly string[], input?: string): ReturnType<typeof runAsync> {
  return runAsync(PYTHON, args, { input });
}
