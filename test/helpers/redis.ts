/**
 * A real Redis for the queue tests: Debian's `redis-server` on a free loopback port, in a temporary
 * folder, with append-only persistence (so a restart keeps the queue, as in production). Tests skip
 * with the printed reason when `redis-server` or the optional peers (bullmq, ioredis) are absent.
 */
// eslint-disable-next-line no-restricted-imports -- only instant commands (--version, shutdown, an empty node -e) run synchronously here
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Why the queue tests cannot run here, or null when they can. */
export async function redisUnavailable(): Promise<string | null> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return 'redis-server is not installed (Debian: apt-get install -y redis-server)';
  for (const id of ['bullmq', 'ioredis']) {
    try {
      await import(id);
    } catch {
      return `the optional peer ${id} is not installed (npm install bullmq ioredis)`;
    }
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A Redis server the test owns: `url`, `stop()` (SHUTDOWN, data kept on disk), `start()` again, `kill()`. */
export class TestRedis {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-redis-'));
  port = 0;
  private proc: ChildProcess | null = null;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s: ${out.slice(-500)}`)), 10_000);
      this.proc?.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.proc?.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`));
      });
    });
  }

  /** A clean shutdown (the append-only file is flushed): the data survives a later start(). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p === null || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    spawnSync('redis-cli', ['-p', String(this.port), 'shutdown'], { encoding: 'utf8', timeout: 10_000 });
    await exited;
    this.proc = null;
  }

  /** Stops the server and removes its folder. */
  async dispose(): Promise<void> {
    if (this.proc !== null && this.proc.exitCode === null) {
      const p = this.proc;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
