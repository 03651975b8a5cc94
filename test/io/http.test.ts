/**
 * Loading over real HTTP from a loopback server, including servers that never answer or stop
 * mid-shard (which must end in E_IO_TIMEOUT, not hang) and a refused connection (a coded error).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { fileSystem, httpLoader } from '../../src/entries/io.js';
import { tinyConvNet } from '../helpers/tiny_model.js';

let server: http.Server;
let base: string;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-http-'));
const requests: string[] = [];

beforeAll(async () => {
  await useBackend('wasm');
  await tinyConvNet().save(fileSystem(path.join(root, 'tiny')));
  fs.cpSync(path.join(root, 'tiny'), path.join(root, 'broken'), { recursive: true });
  fs.rmSync(path.join(root, 'broken', 'weights.bin'));
  fs.cpSync(path.join(root, 'tiny'), path.join(root, 'stall'), { recursive: true });
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url?.startsWith('/silent/')) return; // accepts, never answers
    if (req.url === '/stall/weights.bin') {
      // Headers and the first half of the shard, then silence.
      const bytes = fs.readFileSync(path.join(root, 'stall', 'weights.bin'));
      res.writeHead(200, { 'content-length': String(bytes.length) });
      res.write(bytes.subarray(0, bytes.length >> 1));
      return;
    }
    const file = path.join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  delete process.env.TRANSFERKIT_HTTP_TIMEOUT_MS;
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

describe('http loading', () => {
  it('loads the same model over HTTP as from disk', async () => {
    const viaHttp = await loadPretrained(`${base}/tiny/model.json`);
    const viaFs = await loadPretrained(path.join(root, 'tiny'));
    expect(requests).toContain('/tiny/model.json');
    expect(requests).toContain('/tiny/weights.bin');
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 5);
    const a = (viaHttp.model.predict(x) as tf.Tensor).dataSync();
    const b = (viaFs.model.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(viaHttp.featureLayer).toBe('global_average_pooling2d');
  });

  it('accepts a folder URL', async () => {
    const m = await loadPretrained(`${base}/tiny`);
    expect(m.model.layers.length).toBeGreaterThan(5);
  });

  it('names the URL of a missing shard', async () => {
    await expect(loadPretrained(`${base}/broken/model.json`)).rejects.toMatchObject({ code: 'E_IO_SHARD_MISSING', message: expect.stringContaining(`${base}/broken/weights.bin`) });
  });

  it('reports a missing model.json by URL', async () => {
    await expect(loadPretrained(`${base}/nope/model.json`)).rejects.toMatchObject({ code: 'E_IO_NOT_FOUND', message: expect.stringContaining(`${base}/nope/model.json`) });
  });

  it('a server that never answers model.json ends in E_IO_TIMEOUT naming the URL and the option', async () => {
    const url = `${base}/silent/model.json`;
    const err = await httpLoader(url, { timeoutMs: 300 }).load!().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_IO_TIMEOUT' });
    expect((err as Error).message).toContain(url);
    expect((err as Error).message).toContain('timeoutMs');
  });

  it('loadPretrained over HTTP honours TRANSFERKIT_HTTP_TIMEOUT_MS', async () => {
    process.env.TRANSFERKIT_HTTP_TIMEOUT_MS = '300';
    try {
      await expect(loadPretrained(`${base}/silent/model.json`)).rejects.toMatchObject({ code: 'E_IO_TIMEOUT', message: expect.stringContaining('TRANSFERKIT_HTTP_TIMEOUT_MS') });
    } finally {
      delete process.env.TRANSFERKIT_HTTP_TIMEOUT_MS;
    }
  });

  it('a shard that stops arriving mid-body ends in E_IO_TIMEOUT naming the shard URL and idleTimeoutMs', async () => {
    const err = await httpLoader(`${base}/stall/model.json`, { idleTimeoutMs: 300 }).load!().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_IO_TIMEOUT' });
    expect((err as Error).message).toContain(`${base}/stall/weights.bin`);
    expect((err as Error).message).toContain('idleTimeoutMs');
  });

  it('a refused connection is E_IO_HTTP naming the URL and ECONNREFUSED', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const url = `http://127.0.0.1:${port}/m/model.json`;
    await expect(httpLoader(url).load!()).rejects.toMatchObject({ code: 'E_IO_HTTP', message: expect.stringMatching(new RegExp(`${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*ECONNREFUSED`)) });
  });
});
