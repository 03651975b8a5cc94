/**
 * Cached downloads against a real HTTP server on 127.0.0.1: checksum verification, a truncated
 * transfer resumed with a Range request, a wrong checksum, offline mode, and loadPretrained by id
 * through TRANSFERKIT_MIRROR (the published-weights path end to end, with a local .h5).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { cachedDownload, saveKerasH5 } from '../../src/entries/io.js';
import { buildZooModel } from '../../src/entries/models.js';

const body = randomBytes(300_000);
const md5 = createHash('md5').update(body).digest('hex');
const files = new Map<string, Buffer>();
const log: Array<{ url: string; range: string | undefined }> = [];
let server: http.Server;
let base = '';

beforeAll(async () => {
  await useBackend('wasm');
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    log.push({ url, range: req.headers.range });
    if (url.startsWith('/truncated/')) {
      // Announces the whole file, sends a third of it, then drops the connection.
      res.writeHead(200, { 'Content-Length': String(body.length) });
      res.write(body.subarray(0, 100_000), () => res.destroy());
      return;
    }
    const data = url.startsWith('/wrong/') ? Buffer.concat([body.subarray(0, 1000), Buffer.from('x'), body.subarray(1001)]) : url.startsWith('/files/') ? body : files.get(url);
    if (data === undefined) {
      res.writeHead(404).end();
      return;
    }
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (m !== null) {
      const from = Number(m[1]);
      res.writeHead(206, { 'Content-Length': String(data.length - from), 'Content-Range': `bytes ${from}-${data.length - 1}/${data.length}` });
      res.end(data.subarray(from));
    } else {
      res.writeHead(200, { 'Content-Length': String(data.length) });
      res.end(data);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
  delete process.env.TRANSFERKIT_MIRROR;
});

const cache = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-dl-'));

describe('cachedDownload', () => {
  it('downloads, verifies the md5, and serves the cached copy without a request afterwards', async () => {
    const dir = cache();
    const before = log.length;
    const file = await cachedDownload(`${base}/files/a.bin`, { cacheDir: dir, md5, progress: 'silent' });
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    expect(await cachedDownload(`${base}/files/a.bin`, { cacheDir: dir, md5, progress: 'silent' })).toBe(file);
    expect(log.length - before).toBe(1);
    expect(fs.readdirSync(dir)).toEqual(['a.bin']);
  });

  // This server sends no ETag/Last-Modified: the resume is allowed because the md5 verifies the
  // assembled file (without a checksum it would start over; see download_hardening.test.ts).
  it('a truncated transfer keeps its partial file, and the next call resumes it with a Range request', async () => {
    const dir = cache();
    await expect(cachedDownload(`${base}/truncated/a.bin`, { cacheDir: dir, md5, progress: 'silent' })).rejects.toThrow(/(truncated|broke off).*Run again to resume/);
    const part = path.join(dir, 'a.bin.part');
    expect(fs.existsSync(part)).toBe(true);
    const have = fs.statSync(part).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThan(body.length);
    const seen: number[] = [];
    const file = await cachedDownload(`${base}/files/a.bin`, { cacheDir: dir, md5, progress: (r) => void seen.push(r) });
    expect(log.at(-1)?.range).toBe(`bytes=${have}-`);
    expect(seen[0]).toBeGreaterThan(have); // counting continued from the partial file
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    expect(fs.existsSync(part)).toBe(false);
  });

  it('a file that fails its checksum is deleted and named in the error; offline mode says what to place where', async () => {
    const dir = cache();
    await expect(cachedDownload(`${base}/wrong/a.bin`, { cacheDir: dir, md5, progress: 'silent' })).rejects.toMatchObject({ code: 'E_IO_CHECKSUM', message: expect.stringContaining(`expected ${md5}`) });
    expect(fs.readdirSync(dir)).toEqual([]);
    await expect(cachedDownload(`${base}/files/a.bin`, { cacheDir: dir, offline: true })).rejects.toThrow(new RegExp(`downloads are off for this call.*on the command line, add --allow-downloads.*download ${base}/files/a.bin yourself and place it at ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/a.bin`));
    await expect(cachedDownload(`${base}/missing.bin`, { cacheDir: dir, progress: 'silent' })).rejects.toThrow(/answered HTTP 404/);
  });
});

describe('loadPretrained by id, through a mirror', () => {
  it("fetches the published no-top .h5 into the cache and loads it strictly: the weights are the file's", async () => {
    const h5 = path.join(cache(), 'w.h5');
    const { model: ref } = buildZooModel('mobilenet_v2_0.35_224', { includeTop: false, seed: 5 });
    await saveKerasH5(ref, h5);
    files.set('/tensorflow/keras-applications/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5', fs.readFileSync(h5));
    process.env.TRANSFERKIT_MIRROR = base;
    const cacheDir = cache();
    const pm = await loadPretrained('mobilenet_v2_0.35_224', { download: { cacheDir, progress: 'silent' } });
    expect(fs.readdirSync(cacheDir)).toEqual(['mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5']);
    expect(pm.source).toContain(cacheDir);
    ref.weights.forEach((w, i) => expect(Array.from(pm.model.weights[i].read().dataSync())).toEqual(Array.from(w.read().dataSync())));
    ref.dispose();
  }, 60_000);
});
