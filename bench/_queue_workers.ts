/**
 * Starts `n` `transferkit worker` processes on a queue and resolves when each says it is waiting
 * for trials (the queue benchmarks' shared setup). `command`: the node arguments before `worker`
 * (the built CLI, or tsx and the source CLI).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export async function startQueueWorkers(n: number, command: string[], queue: string, redisUrl: string, module: string): Promise<ChildProcess[]> {
  const workers: ChildProcess[] = [];
  await Promise.all(
    Array.from({ length: n }, () => new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [...command, 'worker', '--queue', queue, '--redis', redisUrl, '--module', module], { stdio: ['ignore', 'ignore', 'pipe'] });
      workers.push(child);
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('waiting for trials')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${err}`)));
    })),
  );
  return workers;
}
