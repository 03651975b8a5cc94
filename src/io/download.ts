/**
 * Downloads into a cache folder, the way `keras.utils.get_file` and `huggingface_hub` do, plus
 * what they lack together: resume of a partial file (HTTP Range), checksum verification (md5 as
 * Keras publishes, sha256 or its prefix as torchvision names files), an atomic move into place
 * (a crash never leaves a half file under the final name), a progress bar on a TTY, and an offline
 * mode (`TRANSFERKIT_OFFLINE=1`) that never touches the network and says which file to put where.
 * `TRANSFERKIT_MIRROR` replaces the origin of every URL (a company mirror, or a loopback server in tests).
 *
 * The URL, the server and the bytes it sends are untrusted, so the cache is hardened at each step:
 * - **File names.** The cache file name comes from the URL's last segment after percent-decoding
 *   (as `get_file` takes `origin.split('/')[-1]`), so `..%2F..%2Fx` decodes to `../../x`: every
 *   name goes through `safeFileName` and the final path through `resolveInside(cacheDir, …)`; an
 *   explicit `fileName` with separators or `..` is refused (`E_IO_PATH_ESCAPE`).
 * - **Timeouts.** `timeoutMs` (response headers) and `idleTimeoutMs` (silence in the body), with
 *   `TRANSFERKIT_HTTP_TIMEOUT_MS` as the default of both, like huggingface_hub's
 *   `HF_HUB_DOWNLOAD_TIMEOUT`; a timeout keeps the `.part` so the next call resumes.
 * - **Resume only onto the same file.** The validator (strong ETag, else Last-Modified) of the
 *   response that started a `.part` is kept beside it in `<name>.part.json`; a resume sends it in
 *   `If-Range`, so a server whose file changed answers 200 with the whole new file, which is then
 *   written from byte 0 (RFC 9110 §13.1.5). huggingface_hub gets the same guarantee by naming the
 *   partial blob after the ETag (`<etag>.incomplete`); `get_file` never resumes. A 206 whose own
 *   validator differs (a server that ignores If-Range) or a `.part` with no known validator is not
 *   resumed unless a checksum will verify the result; a file assembled from an unverified resume is
 *   never moved into the cache.
 * - **Stale `.part`.** HTTP 416 (the `.part` is as long as the file or longer) discards it and
 *   starts again from byte 0, once; so does a checksum failure right after a resume (the partial
 *   file may have been the corrupt half). A checksum failure deletes the `.part`: the next call
 *   starts over rather than resuming a file known to be wrong.
 * - **Errors.** Every failure is a `TransferKitError` naming the URL and the cache file and saying
 *   what to do; Node's raw errors (ECONNREFUSED, ENOTFOUND, EACCES, ENOSPC, ...) are wrapped.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { writeFullySync } from './_write_fully.js';
import { resolveInside, safeFileName } from './_paths.js';
import { describeNetworkError, fetchWithTimeouts, resolveHttpTimeouts, type HttpTimeouts, type TimedResponse } from './http.js';

/** Options of {@link cachedDownload}. */
export interface DownloadOptions {
  /** Cache folder (default `TRANSFERKIT_CACHE`, else the platform cache folder + `/transferkit`). */
  cacheDir?: string;
  /**
   * File name in the cache (default the URL's last path segment, made safe). A single file name:
   * separators, `..` and NUL are refused with `E_IO_PATH_ESCAPE`.
   */
  fileName?: string;
  md5?: string;
  sha256?: string;
  /** A prefix of the sha256 (torchvision puts 8 hex digits in its file names). */
  sha256Prefix?: string;
  /** Never use the network (default: `TRANSFERKIT_OFFLINE=1`). */
  offline?: boolean;
  /** Progress: `'auto'` (a bar on a TTY stderr), `'silent'`, or a function of (received, total). */
  progress?: 'auto' | 'silent' | ((received: number, total: number | null) => void);
  /**
   * Milliseconds to wait for the server's response headers before failing with `E_IO_TIMEOUT`
   * (the partial file is kept). Default `TRANSFERKIT_HTTP_TIMEOUT_MS`, else 30,000; `Infinity` waits for ever.
   */
  timeoutMs?: number;
  /**
   * Milliseconds without a byte of the body before failing with `E_IO_TIMEOUT` (the partial file
   * is kept, so the next call resumes). Default `TRANSFERKIT_HTTP_TIMEOUT_MS`, else 60,000.
   */
  idleTimeoutMs?: number;
}

/** The platform cache folder for transferkit. */
export function defaultCacheDir(): string {
  if (process.env.TRANSFERKIT_CACHE) return process.env.TRANSFERKIT_CACHE;
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'transferkit');
  if (process.platform === 'win32') return path.join(process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'transferkit', 'Cache');
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(home, '.cache'), 'transferkit');
}

function mirrored(url: string): string {
  const mirror = process.env.TRANSFERKIT_MIRROR;
  if (!mirror) return url;
  const u = new URL(url);
  return `${mirror.replace(/\/$/, '')}${u.pathname}${u.search}`;
}

async function fileHash(file: string, algo: 'md5' | 'sha256'): Promise<string> {
  const h = createHash(algo);
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function hasChecksum(o: DownloadOptions): boolean {
  return o.md5 !== undefined || o.sha256 !== undefined || o.sha256Prefix !== undefined;
}

async function verify(file: string, o: DownloadOptions): Promise<string | null> {
  if (o.md5 !== undefined) {
    const got = await fileHash(file, 'md5');
    if (got !== o.md5.toLowerCase()) return `md5 ${got}, expected ${o.md5}`;
  }
  if (o.sha256 !== undefined || o.sha256Prefix !== undefined) {
    const got = await fileHash(file, 'sha256');
    const want = (o.sha256 ?? o.sha256Prefix ?? '').toLowerCase();
    if (!got.startsWith(want)) return `sha256 ${got}, expected ${o.sha256 !== undefined ? '' : 'prefix '}${want}`;
  }
  return null;
}

function reporter(o: DownloadOptions, name: string): (received: number, total: number | null) => void {
  if (typeof o.progress === 'function') return o.progress;
  if (o.progress === 'silent' || process.stderr.isTTY !== true) return () => undefined;
  let last = 0;
  return (received, total) => {
    const now = Date.now();
    if (now - last < 100 && received !== total) return;
    last = now;
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    const pct = total ? ` ${((100 * received) / total).toFixed(0)}%` : '';
    process.stderr.write(`\rdownloading ${name}: ${mb(received)}${total ? ` / ${mb(total)}` : ''} MB${pct}${received === total ? '\n' : ''}`);
  };
}

/**
 * The cache path for `url`. The name is the URL's last segment, percent-decoded (so
 * `model%20v2.h5` is stored as `model v2.h5`, as `get_file` and browsers name it) and then passed
 * through `safeFileName`, which turns separators, `..`, NUL and control characters into `_`; the
 * path is then checked by `resolveInside`, the one place that keeps paths named by untrusted input
 * inside their folder.
 */
function cachePath(url: string, dir: string, fileName: string | undefined): string {
  let name: string;
  if (fileName !== undefined) {
    // An explicit name is the caller's, but it often comes from a manifest or a Hub file list:
    // refuse anything that is not one plain name rather than silently storing it elsewhere.
    if (typeof fileName !== 'string' || fileName === '' || fileName === '.' || fileName === '..' || /[\\/\0]/.test(fileName) || path.isAbsolute(fileName)) {
      throw new TransferKitError('E_IO_PATH_ESCAPE', `The cache file name for ${url} must be a single file name inside the cache folder ${dir}. Received: fileName=${JSON.stringify(fileName)}. Pass a name without '/', '\\', '..' or NUL (or set cacheDir to choose the folder).`);
    }
    name = safeFileName(fileName);
  } else {
    const segment = new URL(url).pathname.split('/').pop() ?? '';
    let decoded = segment;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // A malformed escape (`%E0%A4%A`): keep the raw segment, safeFileName still cleans it.
    }
    name = safeFileName(decoded, 'download');
  }
  return resolveInside(dir, name, `The download URL ${url}`);
}

/** What `<part>.json` records about the response that started a `.part`. */
interface PartInfo {
  /** The URL fetched (after the mirror): two URLs sharing a last segment share the `.part` path. */
  url: string;
  /** `If-Range` value: a strong ETag, else the Last-Modified date. */
  validator: string;
  kind: 'etag' | 'last-modified';
}

/**
 * The validator of a response usable in `If-Range`: a strong ETag (RFC 9110 §13.1.5 forbids weak
 * ones there, and a server must then ignore the Range), else Last-Modified.
 */
function validatorOf(res: Response): Pick<PartInfo, 'validator' | 'kind'> | null {
  const etag = res.headers.get('etag');
  if (etag !== null && etag !== '' && !etag.startsWith('W/')) return { validator: etag, kind: 'etag' };
  const lm = res.headers.get('last-modified');
  if (lm !== null && lm !== '') return { validator: lm, kind: 'last-modified' };
  return null;
}

function readPartInfo(meta: string): PartInfo | null {
  try {
    if (fs.statSync(meta).size > 64 * 1024) return null;
    const j = JSON.parse(fs.readFileSync(meta, 'utf8')) as Partial<PartInfo>;
    if (typeof j.url !== 'string' || typeof j.validator !== 'string' || (j.kind !== 'etag' && j.kind !== 'last-modified')) return null;
    return { url: j.url, validator: j.validator, kind: j.kind };
  } catch {
    return null; // absent or unreadable: no validator is known, which is the safe answer
  }
}

/** Size of `file`, 0 when it does not exist. */
function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** Everything an error message needs to name. */
interface Ctx {
  url: string;
  source: string;
  dir: string;
  target: string;
  part: string;
  meta: string;
}

/** The URL as the user gave it, plus the mirror's when one is in use. */
function where(c: Ctx): string {
  return c.source === c.url ? c.url : `${c.source} (mirror of ${c.url})`;
}

/** Wraps a file-system error of the cache in E_IO_WRITE, naming the file, the URL and the fix. */
function fsError(err: unknown, doing: string, file: string, c: Ctx): TransferKitError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? 'error';
  const elsewhere = 'or set TRANSFERKIT_CACHE (or the cacheDir option) to another folder';
  const fix: Record<string, string> = {
    ENOSPC: `The disk holding ${c.dir} is full: free some space, ${elsewhere}. What was downloaded is kept in ${c.part}; the next call resumes it.`,
    EDQUOT: `The disk quota for ${c.dir} is exhausted: free some space, ${elsewhere}.`,
    EACCES: `No permission to write in the cache folder ${c.dir}: make it writable, ${elsewhere}.`,
    EPERM: `No permission to write in the cache folder ${c.dir}: make it writable, ${elsewhere}.`,
    EROFS: `The cache folder ${c.dir} is on a read-only file system: ${elsewhere}.`,
    ENOTDIR: `A file stands where the cache folder ${c.dir} (or one of its parents) should be: remove it, ${elsewhere}.`,
    EEXIST: `A file stands where the cache folder ${c.dir} (or one of its parents) should be: remove it, ${elsewhere}.`,
    EISDIR: `A folder stands where the cache file ${c.target} should be: remove it, ${elsewhere}.`,
  };
  const detail = typeof e.message === 'string' && e.message.startsWith(code) ? e.message : `${code}: ${e.message}`;
  return new TransferKitError('E_IO_WRITE', `Could not ${doing} ${file} while downloading ${where(c)} into ${c.target} (${detail}). ${fix[code] ?? `Check the cache folder ${c.dir}, ${elsewhere}.`}`, { cause: err });
}

/** Runs a file-system step, wrapping its raw error. */
function fsStep<T>(doing: string, file: string, c: Ctx, step: () => T): T {
  try {
    return step();
  } catch (err) {
    throw fsError(err, doing, file, c);
  }
}

/** Deletes the `.part` and its sidecar (a restart, a checksum failure). */
function discardPart(c: Ctx): void {
  fsStep('delete', c.meta, c, () => fs.rmSync(c.meta, { force: true }));
  fsStep('delete', c.part, c, () => fs.rmSync(c.part, { force: true }));
}

/** Writes the sidecar atomically (temporary file + rename), so a crash never leaves half a JSON beside a `.part`. */
function writePartInfo(c: Ctx, info: PartInfo): void {
  const tmp = `${c.meta}.tmp-${process.pid}`;
  fsStep('write', c.meta, c, () => {
    fs.writeFileSync(tmp, JSON.stringify(info));
    fs.renameSync(tmp, c.meta);
  });
}


/** The first byte and the full length announced by a 206's Content-Range (`bytes 100-299/300`). */
function contentRange(res: Response): { from: number; size: number | null } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range')?.trim() ?? '');
  if (m === null) return null;
  return { from: Number(m[1]), size: m[3] === '*' ? null : Number(m[3]) };
}

function httpHint(status: number): string {
  if (status === 404 || status === 410) return 'Check the URL (and TRANSFERKIT_MIRROR, if set).';
  if (status === 401 || status === 403) return 'The server refuses access: check the URL, or whether it needs credentials.';
  if (status === 429 || status >= 500) return 'The server is overloaded or failing: try again later, or use a mirror (TRANSFERKIT_MIRROR).';
  return 'Check the URL (and TRANSFERKIT_MIRROR, if set).';
}

/** How one transfer attempt ended when it did not produce a complete `.part`. */
type Restart = { restart: string };

/**
 * Returns the cached path of `url`, downloading it first when absent (resuming a partial
 * download, verifying the checksum, moving it into place atomically).
 */
export async function cachedDownload(url: string, options: DownloadOptions = {}): Promise<string> {
  const dir = path.resolve(options.cacheDir ?? defaultCacheDir());
  try {
    new URL(url);
  } catch (err) {
    throw new TransferKitError('E_BAD_OPTION', `Cannot download ${JSON.stringify(url)}: it is not an absolute URL. Pass an http(s) URL.`, { cause: err });
  }
  const target = cachePath(url, dir, options.fileName);
  const name = path.basename(target);
  const part = `${target}.part`;
  const c: Ctx = { url, source: url, dir, target, part, meta: `${part}.json` };
  if (fs.existsSync(target)) {
    const bad = await verify(target, options).catch((err: unknown) => {
      throw new TransferKitError('E_IO_WRITE', `Could not read the cached file ${target} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Delete it to download ${url} again, or fix the cache folder's permissions.`, { cause: err });
    });
    if (bad === null) return target;
    fsStep('delete', target, c, () => fs.rmSync(target)); // a cached file that fails its checksum is fetched again
  }
  const offline = options.offline ?? process.env.TRANSFERKIT_OFFLINE === '1';
  if (offline) {
    // Say which switch made this offline: the caller's option (the CLI without --allow-downloads) or the environment.
    const why = options.offline === true
      ? `downloads are off for this call (download: { offline: true }; on the command line, add --allow-downloads to fetch it)`
      : 'offline (TRANSFERKIT_OFFLINE=1; unset it to fetch it)';
    throw new TransferKitError('E_IO_NOT_FOUND', `${name} is not in the cache and ${why}. Or download ${url} yourself and place it at ${target}.`);
  }
  c.source = mirrored(url);
  const timeouts = resolveHttpTimeouts(options);
  fsStep('create the cache folder', dir, c, () => fs.mkdirSync(dir, { recursive: true }));
  // One restart from byte 0 is allowed (416, an unusable resume, a checksum failure after a
  // resume); a second would mean the server itself is inconsistent, which retrying cannot fix.
  let restarted: string | null = null;
  for (;;) {
    const outcome = await transfer(c, options, timeouts);
    if ('restart' in outcome) {
      if (restarted !== null) {
        throw new TransferKitError('E_IO_HTTP', `The download of ${where(c)} into ${target} could not be completed: ${restarted}, and again after starting over from byte 0: ${outcome.restart}. The server is inconsistent; try again later or use a mirror (TRANSFERKIT_MIRROR).`);
      }
      restarted = outcome.restart;
      discardPart(c);
      continue;
    }
    const bad = await verify(part, options).catch((err: unknown) => {
      throw fsError(err, 'read', part, c);
    });
    if (bad !== null) {
      if (outcome.resumed && restarted === null) {
        // The bytes kept from an earlier attempt may be the corrupt ones: fetch the whole file once.
        restarted = `the resumed file failed its checksum (${bad})`;
        discardPart(c);
        continue;
      }
      discardPart(c);
      throw new TransferKitError('E_IO_CHECKSUM', `${where(c)} failed its checksum (${bad}); the download was deleted and was not stored as ${target}, so the next call starts over. The file on the server differs from the published one: check the URL or mirror.`);
    }
    fsStep('move the finished download into place as', target, c, () => fs.renameSync(part, target));
    fsStep('delete', c.meta, c, () => fs.rmSync(c.meta, { force: true }));
    return target;
  }
}

/**
 * One HTTP request: resumes the `.part` when that is safe, else writes it from byte 0; returns
 * whether bytes were resumed, or asks the caller to discard the `.part` and start over.
 */
async function transfer(c: Ctx, options: DownloadOptions, timeouts: HttpTimeouts): Promise<{ resumed: boolean } | Restart> {
  const have = fsStep('read the size of', c.part, c, () => sizeOf(c.part));
  const info = have > 0 ? readPartInfo(c.meta) : null;
  const known = info !== null && info.url === c.source ? info : null;
  // Resume only when the result can be trusted: the server will compare our validator (If-Range),
  // or a checksum will check the assembled file. Otherwise the kept bytes may belong to another file.
  const resume = have > 0 && (known !== null || hasChecksum(options));
  // Accept-Encoding identity, as huggingface_hub's http_get sends: fetch would otherwise ask for
  // gzip and decompress on the fly, so Content-Length and byte ranges would count other bytes.
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
  if (resume) {
    headers.Range = `bytes=${have}-`;
    if (known !== null) headers['If-Range'] = known.validator;
  }
  // Set once the response is in: whether bytes are appended to the `.part`, and whether the next
  // call will be able to resume it (a validator was recorded, or a checksum will verify it).
  let resumed = false;
  let resumable = resume;
  const keptFor = (kept: number): string => resumable
    ? `Run again to resume: the ${kept} bytes received so far stay in ${c.part}; the file is stored as ${c.target} only once complete.`
    : `Run again to start over: the server sent no ETag or Last-Modified that a resume of the ${kept} bytes in ${c.part} could be checked against (pass a checksum to allow resuming); the file is stored as ${c.target} only once complete.`;
  const hint = (phase: 'headers' | 'body', bytes: number): string => {
    const kept = phase === 'body' ? (resumed ? have : 0) + bytes : have;
    return kept > 0 ? keptFor(kept) : `Nothing was stored as ${c.target}.`;
  };
  let timed: TimedResponse;
  try {
    timed = await fetchWithTimeouts(globalThis.fetch, c.source, { headers }, timeouts, hint);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'E_IO_TIMEOUT') throw err;
    throw new TransferKitError('E_IO_HTTP', `Could not reach ${where(c)} to download it into ${c.target}: ${describeNetworkError(err)}. Check the URL and the network, or set TRANSFERKIT_OFFLINE=1 and place the file at ${c.target} yourself.`, { cause: err });
  }
  const res = timed.response;
  if (res.status === 416 && have > 0 && resume) {
    await timed.cancel();
    return { restart: `the server rejected resuming ${c.part} at byte ${have} (HTTP 416: the partial file is as long as the remote file or longer)` };
  }
  if (!(res.ok || res.status === 206)) {
    await timed.cancel();
    throw new TransferKitError('E_IO_HTTP', `${where(c)} answered HTTP ${res.status} ${res.statusText}; nothing was stored as ${c.target}. ${httpHint(res.status)}`);
  }
  let total: number | null;
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (res.status === 206) {
    const range = contentRange(res);
    if (!resume || range === null || range.from !== have) {
      await timed.cancel();
      return { restart: `the server answered a range that does not continue ${c.part} (Content-Range: ${res.headers.get('content-range') ?? 'none'}, expected bytes ${have}-)` };
    }
    const now = validatorOf(res);
    const matches = known !== null && now !== null && now.kind === known.kind && now.validator === known.validator;
    if (!matches && !hasChecksum(options)) {
      // The server resumed without confirming it is the same file (it ignores If-Range, or sent no
      // validator): those bytes cannot be trusted and nothing would check them. Fetch it whole.
      await timed.cancel();
      return { restart: `the server resumed ${c.part} without confirming it is the same file (its validator is ${now?.validator ?? 'missing'}, the partial file's is ${known?.validator ?? 'unknown'}), and no checksum would catch a mix` };
    }
    resumed = true;
    total = range.size ?? (Number.isFinite(length) ? have + length : null);
  } else {
    // A fresh start, or a 200 to a resume (If-Range did not match, or Range is unsupported): the
    // body is the whole file, written from byte 0. The old sidecar goes first, then the `.part` is
    // truncated, then the new sidecar is written: a crash at any point leaves no validator that
    // describes bytes of another file.
    total = Number.isFinite(length) ? length : null;
    resumable = validatorOf(res) !== null || hasChecksum(options);
  }
  const report = reporter(options, path.basename(c.target));
  let out: number;
  try {
    if (!resumed) fsStep('delete', c.meta, c, () => fs.rmSync(c.meta, { force: true }));
    out = fsStep('open', c.part, c, () => fs.openSync(c.part, resumed ? 'a' : 'w'));
  } catch (err) {
    await timed.cancel(); // release the connection: the body will not be read
    throw err;
  }
  let received = resumed ? have : 0;
  let closeError: unknown = null;
  try {
    if (!resumed) {
      const v = validatorOf(res);
      if (v !== null) writePartInfo(c, { url: c.source, ...v });
    }
    for (let chunk = await timed.next(); chunk !== null; chunk = await timed.next()) {
      fsStep('write', c.part, c, () => writeFullySync(out, chunk));
      received += chunk.byteLength;
      report(received, total);
    }
  } catch (err) {
    await timed.cancel();
    const code = (err as { code?: unknown }).code;
    if (code === 'E_IO_TIMEOUT' || code === 'E_IO_WRITE') throw err;
    throw new TransferKitError('E_IO_HTTP', `The download of ${where(c)} broke off after ${received} bytes (${describeNetworkError(err)}). ${keptFor(received)}`, { cause: err });
  } finally {
    try {
      fs.closeSync(out);
    } catch (err) {
      closeError = err;
    }
  }
  // close() can report a deferred write error (NFS, a full disk); reached only when nothing failed before.
  if (closeError !== null) throw fsError(closeError, 'write', c.part, c);
  if (total !== null && received !== total) {
    throw new TransferKitError('E_IO_HTTP', `The download of ${where(c)} is truncated: ${received} of ${total} bytes. ${keptFor(received)}`);
  }
  return { resumed };
}
