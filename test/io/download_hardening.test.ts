/**
 * Regression tests for the download cache's input boundary (issue 27, "Downloads"), each against a
 * real HTTP server on 127.0.0.1 whose behaviour the test sets per path: crafted URLs that decode
 * to `../`, servers that never answer or stop mid-body, a stale `.part` the server answers 416 to,
 * a `.part` whose remote file changed (with and without If-Range support, with and without
 * validators), checksum failures, and raw Node errors (refused connection, unusable cache folder,
 * full disk) that must come back as coded errors naming the URL and the cache file.
 *
 * No test measures time: timeouts are set to a few hundred milliseconds and the tests assert the
 * coded error and what is left on disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cachedDownload } from '../../src/io/download.js';
import { isTransferKitError } from '../../src/errors.js';

/** How the server answers one path. */
interface Resource {
  data: Buffer;
  etag?: string;
  lastModified?: string;
  /** Honour `Range` (default true). */
  ranges?: boolean;
  /** Evaluate `If-Range` (default true); false mimics servers that ignore it and always honour Range. */
  ifRange?: boolean;
  /** Omit Content-Length (chunked transfer). */
  chunked?: boolean;
  /** 'silent': accept, never answer; 'stall': send `cutAt` bytes, then nothing; 'drop': send `cutAt` bytes, then reset. */
  mode?: 'normal' | 'silent' | 'stall' | 'drop';
  cutAt?: number;
  status?: number;
}

const resources = new Map<string, Resource>();
const log: Array<{ url: string; range?: string; ifRange?: string }> = [];
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    log.push({ url, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    // `/any/<whatever>` serves one fixed file whatever the (crafted) name.
    const r = url.startsWith('/any/') ? { data: v1, etag: '"any"' } : resources.get(url);
    if (r === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    if (r.mode === 'silent') return; // accepted, never answered
    if (r.status !== undefined) {
      res.writeHead(r.status).end('oops');
      return;
    }
    const size = r.data.length;
    let from = 0;
    let status = 200;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m !== null && r.ranges !== false) {
      const cond = req.headers['if-range'];
      // RFC 9110 §13.1.5: a strong ETag or the exact Last-Modified date must match, else send the whole file.
      const matches = cond === undefined || r.ifRange === false || (r.etag !== undefined && cond === r.etag) || (r.lastModified !== undefined && cond === r.lastModified);
      if (matches) {
        from = Number(m[1]);
        if (from >= size) {
          res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
          return;
        }
        status = 206;
      }
    }
    const headers: Record<string, string> = { 'Accept-Ranges': r.ranges === false ? 'none' : 'bytes' };
    if (r.etag !== undefined) headers.ETag = r.etag;
    if (r.lastModified !== undefined) headers['Last-Modified'] = r.lastModified;
    if (!r.chunked) headers['Content-Length'] = String(size - from);
    if (status === 206) headers['Content-Range'] = `bytes ${from}-${size - 1}/${size}`;
    res.writeHead(status, headers);
    const slice = r.data.subarray(from);
    if (r.mode === 'stall') {
      res.write(slice.subarray(0, r.cutAt ?? 0));
      return; // headers and some bytes sent, then silence
    }
    if (r.mode === 'drop') {
      res.write(slice.subarray(0, r.cutAt ?? 0), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

afterEach(() => {
  delete process.env.TRANSFERKIT_HTTP_TIMEOUT_MS;
});

const v1 = randomBytes(300_000);
const v2 = randomBytes(300_000);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-dlh-'));
const silent = { progress: 'silent' as const };
/** Every file under `root`, relative, sorted. */
const tree = (root: string): string[] => (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile()).sort();
const requestsTo = (p: string) => log.filter((l) => l.url === p);

describe('cache file names', () => {
  it.each([
    ['..%2F..%2Fevil.bin'],
    ['%2e%2e%2f%2e%2e%2fevil.bin'],
    ['..%5C..%5Cevil.bin'],
    ['..%00evil.bin'],
    [''],
  ])('a URL ending in %s writes inside the cache folder and nowhere else', async (segment) => {
    const root = tmp();
    const dir = path.join(root, 'a', 'b', 'cache');
    const file = await cachedDownload(`${base}/any/${segment}`, { cacheDir: dir, ...silent });
    expect(path.dirname(file)).toBe(dir);
    expect(fs.readFileSync(file).equals(v1)).toBe(true);
    expect(tree(root)).toEqual([path.join('a', 'b', 'cache', path.basename(file))]);
  });

  it('an explicit fileName with separators or .. is refused with E_IO_PATH_ESCAPE and nothing is written', async () => {
    const root = tmp();
    const dir = path.join(root, 'a', 'cache');
    for (const fileName of ['../evil.bin', 'sub/../../evil.bin', '..', path.join(root, 'abs.bin'), 'x\\..\\..\\evil.bin', 'nul\0.bin']) {
      await expect(cachedDownload(`${base}/any/ok.bin`, { cacheDir: dir, fileName, ...silent })).rejects.toMatchObject({ code: 'E_IO_PATH_ESCAPE' });
    }
    expect(tree(root)).toEqual([]);
    // A plain name is still used as given.
    const file = await cachedDownload(`${base}/any/ok.bin`, { cacheDir: dir, fileName: 'weights.h5', ...silent });
    expect(file).toBe(path.join(dir, 'weights.h5'));
  });
});

describe('timeouts', () => {
  it('a server that accepts and never answers ends in E_IO_TIMEOUT naming the URL, the timeout and the option', async () => {
    resources.set('/silent/a.bin', { data: v1, mode: 'silent' });
    const dir = tmp();
    const url = `${base}/silent/a.bin`;
    const err = await cachedDownload(url, { cacheDir: dir, timeoutMs: 300, ...silent }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_IO_TIMEOUT' });
    expect((err as Error).message).toContain(url);
    expect((err as Error).message).toContain('300 ms');
    expect((err as Error).message).toContain('timeoutMs');
  });

  it('TRANSFERKIT_HTTP_TIMEOUT_MS sets the default timeout, and the error names it', async () => {
    resources.set('/silent/b.bin', { data: v1, mode: 'silent' });
    process.env.TRANSFERKIT_HTTP_TIMEOUT_MS = '250';
    await expect(cachedDownload(`${base}/silent/b.bin`, { cacheDir: tmp(), ...silent })).rejects.toMatchObject({ code: 'E_IO_TIMEOUT', message: expect.stringContaining('TRANSFERKIT_HTTP_TIMEOUT_MS') });
    process.env.TRANSFERKIT_HTTP_TIMEOUT_MS = 'soon';
    await expect(cachedDownload(`${base}/silent/b.bin`, { cacheDir: tmp(), ...silent })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('TRANSFERKIT_HTTP_TIMEOUT_MS') });
  });

  it('a nonsensical timeout option is refused with E_BAD_OPTION', async () => {
    await expect(cachedDownload(`${base}/any/a.bin`, { cacheDir: tmp(), timeoutMs: -1, ...silent })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('timeoutMs') });
    await expect(cachedDownload(`${base}/any/a.bin`, { cacheDir: tmp(), idleTimeoutMs: Number.NaN, ...silent })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('idleTimeoutMs') });
  });

  it('a server that stops sending mid-body ends in E_IO_TIMEOUT; the .part is kept and the next call resumes it', async () => {
    resources.set('/stall/a.bin', { data: v1, etag: '"s1"', mode: 'stall', cutAt: 100_000 });
    const dir = tmp();
    const url = `${base}/stall/a.bin`;
    const err = await cachedDownload(url, { cacheDir: dir, idleTimeoutMs: 300, ...silent }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_IO_TIMEOUT' });
    expect((err as Error).message).toContain(url);
    expect((err as Error).message).toContain('idleTimeoutMs');
    expect(fs.statSync(path.join(dir, 'a.bin.part')).size).toBe(100_000);
    resources.set('/stall/a.bin', { data: v1, etag: '"s1"' });
    const file = await cachedDownload(url, { cacheDir: dir, ...silent });
    expect(requestsTo('/stall/a.bin').at(-1)).toMatchObject({ range: 'bytes=100000-', ifRange: '"s1"' });
    expect(fs.readFileSync(file).equals(v1)).toBe(true);
    expect(tree(dir)).toEqual(['a.bin']);
  });
});

describe('stale .part files', () => {
  it('a .part larger than the remote file (HTTP 416) is discarded and the download restarts from byte 0', async () => {
    // A server that ignores If-Range (it honours Range whatever the validator) and whose file shrank.
    resources.set('/shrunk/a.bin', { data: v1, etag: '"big"', ifRange: false, mode: 'drop', cutAt: 200_000 });
    const dir = tmp();
    const url = `${base}/shrunk/a.bin`;
    await expect(cachedDownload(url, { cacheDir: dir, ...silent })).rejects.toMatchObject({ code: 'E_IO_HTTP' });
    expect(fs.statSync(path.join(dir, 'a.bin.part')).size).toBe(200_000);
    const small = v2.subarray(0, 100_000);
    resources.set('/shrunk/a.bin', { data: small, etag: '"small"', ifRange: false });
    const file = await cachedDownload(url, { cacheDir: dir, ...silent });
    expect(fs.readFileSync(file).equals(small)).toBe(true);
    expect(requestsTo('/shrunk/a.bin').slice(-2).map((l) => l.range)).toEqual(['bytes=200000-', undefined]);
    expect(tree(dir)).toEqual(['a.bin']);
  });

  it('a .part that already holds the whole file (HTTP 416) is discarded and the download restarts from byte 0', async () => {
    // Chunked transfer without Content-Length: every byte arrives, then the connection breaks.
    resources.set('/whole/a.bin', { data: v1, etag: '"w"', chunked: true, mode: 'drop', cutAt: v1.length });
    const dir = tmp();
    const url = `${base}/whole/a.bin`;
    await expect(cachedDownload(url, { cacheDir: dir, ...silent })).rejects.toMatchObject({ code: 'E_IO_HTTP' });
    expect(fs.statSync(path.join(dir, 'a.bin.part')).size).toBe(v1.length);
    resources.set('/whole/a.bin', { data: v1, etag: '"w"' });
    const file = await cachedDownload(url, { cacheDir: dir, ...silent });
    expect(fs.readFileSync(file).equals(v1)).toBe(true);
    expect(requestsTo('/whole/a.bin').slice(-2).map((l) => l.range)).toEqual([`bytes=${v1.length}-`, undefined]);
    expect(tree(dir)).toEqual(['a.bin']);
  });
});

describe('resuming onto a changed remote file', () => {
  it('sends If-Range with the ETag; a server that answers 200 (file changed) makes it write from byte 0', async () => {
    resources.set('/etag/a.bin', { data: v1, etag: '"v1"', mode: 'drop', cutAt: 100_000 });
    const dir = tmp();
    const url = `${base}/etag/a.bin`;
    await expect(cachedDownload(url, { cacheDir: dir, ...silent })).rejects.toMatchObject({ code: 'E_IO_HTTP' });
    resources.set('/etag/a.bin', { data: v2, etag: '"v2"' });
    const file = await cachedDownload(url, { cacheDir: dir, ...silent });
    expect(requestsTo('/etag/a.bin').at(-1)).toMatchObject({ range: 'bytes=100000-', ifRange: '"v1"' });
    expect(fs.readFileSync(file).equals(v2)).toBe(true);
    expect(tree(dir)).toEqual(['a.bin']);
  });

  it('falls back to Last-Modified as the validator when there is no ETag', async () => {
    const t1 = 'Mon, 01 Jan 2024 00:00:00 GMT';
    resources.set('/lm/a.bin', { data: v1, lastModified: t1, mode: 'drop', cutAt: 100_000 });
    const dir = tmp();
    const url = `${base}/lm/a.bin`;
    await expect(cachedDownload(url, { cacheDir: dir, ...silent })).rejects.toMatchObject({ code: 'E_IO_HTTP' });
    resources.set('/lm/a.bin', { data: v2, lastModified: 'Tue, 02 Jan 2024 00:00:00 GMT' });
    const file = await cachedDownload(url, { cacheDir: dir, ...silent });
    expect(requestsTo('/lm/a.bin').at(-1)).toMatchObject({ range: 'bytes=100000-', ifRange: t1 });
    expect(fs.readFileSync(file).equals(v2)).toBe(true);
  });

  it('a server that ignores If-Range and answers 206 for a changed file: the unverified resume is not cached, the file is fetched in full', async () => {
    resources.set('/noifrange/a.bin', { data: v1, etag: '"n1"', ifRange: false, mode: 'drop', cutAt: 100_000 });
    const dir = tmp();
    const url = `${base}/noifrange/a.bin`;
    await expect(cachedDownload(url, { cacheDir: dir, ...silent })).rejects.toMatchObject({ code: 'E_IO_HTTP' });
    resources.set('/noifrange/a.bin', { data: v2, etag: '"n2"', ifRange: false });
    const file = await cachedDownload(url, { cacheDir: dir, ...silent });
    expect(fs.readFileSync(file).equals(v2)).toBe(true);
    expect(requestsTo('/noifrange/a.bin').at(-1)?.range).toBeUndefined();
    expect(tree(dir)).toEqual(['a.bin']);
  });

  it('a .part without a known validator and without a checksum restarts from byte 0', async () => {
    resources.set('/noval/a.bin', { data: v1, mode: 'drop', cutAt: 100_000 });
    const dir = tmp();
    const url = `${base}/noval/a.bin`;
    await expect(cachedDownload(url, { cacheDir: dir, ...silent })).rejects.toMatchObject({ code: 'E_IO_HTTP' });
    expect(fs.existsSync(path.join(dir, 'a.bin.part'))).toBe(true);
    resources.set('/noval/a.bin', { data: v2 });
    const file = await cachedDownload(url, { cacheDir: dir, ...silent });
    expect(requestsTo('/noval/a.bin').at(-1)?.range).toBeUndefined();
    expect(fs.readFileSync(file).equals(v2)).toBe(true);
    expect(tree(dir)).toEqual(['a.bin']);
  });

  it('with a checksum, a resume whose result fails it is redone once from byte 0 before giving up', async () => {
    resources.set('/sum/a.bin', { data: v1 });
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'a.bin.part'), randomBytes(100_000)); // a corrupt leftover, no validator
    const file = await cachedDownload(`${base}/sum/a.bin`, { cacheDir: dir, md5: md5(v1), ...silent });
    expect(fs.readFileSync(file).equals(v1)).toBe(true);
    expect(requestsTo('/sum/a.bin').slice(-2).map((l) => l.range)).toEqual(['bytes=100000-', undefined]);
    expect(tree(dir)).toEqual(['a.bin']);
  });
});

describe('checksum failures', () => {
  it('delete the .part and its sidecar, name the URL and the cache file, and the next call starts from byte 0', async () => {
    resources.set('/bad/a.bin', { data: v2, etag: '"b"' });
    const dir = tmp();
    const url = `${base}/bad/a.bin`;
    const err = await cachedDownload(url, { cacheDir: dir, md5: md5(v1), ...silent }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_IO_CHECKSUM' });
    expect((err as Error).message).toContain(url);
    expect((err as Error).message).toContain(path.join(dir, 'a.bin'));
    expect(tree(dir)).toEqual([]);
    resources.set('/bad/a.bin', { data: v1, etag: '"b2"' });
    const file = await cachedDownload(url, { cacheDir: dir, md5: md5(v1), ...silent });
    expect(requestsTo('/bad/a.bin').at(-1)?.range).toBeUndefined();
    expect(fs.readFileSync(file).equals(v1)).toBe(true);
  });
});

describe('coded errors', () => {
  const expectCoded = (err: unknown, code: string, ...parts: string[]) => {
    expect(isTransferKitError(err)).toBe(true);
    expect(err).toMatchObject({ code });
    for (const p of parts) expect((err as Error).message).toContain(p);
  };

  it('a refused connection (ECONNREFUSED) names the URL, the cause and the cache file', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dir = tmp();
    const url = `http://127.0.0.1:${port}/x/a.bin`;
    const err = await cachedDownload(url, { cacheDir: dir, ...silent }).catch((e: unknown) => e);
    expectCoded(err, 'E_IO_HTTP', url, 'ECONNREFUSED', path.join(dir, 'a.bin'));
  });

  it('an unknown host (ENOTFOUND) is a coded error naming the URL', async () => {
    const url = 'http://transferkit-no-such-host.invalid/a.bin';
    const err = await cachedDownload(url, { cacheDir: tmp(), timeoutMs: 5000, ...silent }).catch((e: unknown) => e);
    expect(isTransferKitError(err)).toBe(true);
    expect(['E_IO_HTTP', 'E_IO_TIMEOUT']).toContain((err as { code: string }).code);
    expect((err as Error).message).toContain(url);
  });

  it('an HTTP error status names the URL and the cache file; 404 keeps saying "HTTP 404"', async () => {
    resources.set('/status/a.bin', { data: v1, status: 503 });
    const dir = tmp();
    const err = await cachedDownload(`${base}/status/a.bin`, { cacheDir: dir, ...silent }).catch((e: unknown) => e);
    expectCoded(err, 'E_IO_HTTP', `${base}/status/a.bin`, 'HTTP 503', path.join(dir, 'a.bin'));
    await expect(cachedDownload(`${base}/status/none.bin`, { cacheDir: dir, ...silent })).rejects.toMatchObject({ code: 'E_IO_HTTP', message: expect.stringContaining('HTTP 404') });
  });

  it('a cache folder that cannot be created (a file in the way) is E_IO_WRITE naming the folder and the fix', async () => {
    const root = tmp();
    fs.writeFileSync(path.join(root, 'file'), 'x');
    const dir = path.join(root, 'file', 'cache');
    const err = await cachedDownload(`${base}/any/a.bin`, { cacheDir: dir, ...silent }).catch((e: unknown) => e);
    expectCoded(err, 'E_IO_WRITE', dir, 'TRANSFERKIT_CACHE', `${base}/any/a.bin`);
  });

  it.skipIf(process.getuid?.() === 0)('a read-only cache folder (EACCES) is E_IO_WRITE naming the folder and the fix', async () => {
    const dir = tmp();
    fs.chmodSync(dir, 0o500);
    try {
      const err = await cachedDownload(`${base}/any/a.bin`, { cacheDir: dir, ...silent }).catch((e: unknown) => e);
      expectCoded(err, 'E_IO_WRITE', dir, 'EACCES', 'TRANSFERKIT_CACHE');
    } finally {
      fs.chmodSync(dir, 0o700);
    }
  });

  it.skipIf(!fs.existsSync('/dev/full'))('a full disk (ENOSPC) is E_IO_WRITE naming the cache file', async () => {
    const dir = tmp();
    fs.symlinkSync('/dev/full', path.join(dir, 'a.bin.part'));
    const err = await cachedDownload(`${base}/any/a.bin`, { cacheDir: dir, ...silent }).catch((e: unknown) => e);
    expectCoded(err, 'E_IO_WRITE', 'ENOSPC', path.join(dir, 'a.bin'), `${base}/any/a.bin`);
  });
});
