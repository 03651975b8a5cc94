/**
 * Downloads into a cache folder, the way `keras.utils.get_file` and `huggingface_hub` do, plus
 * what they lack together: resume of a partial file (HTTP Range), checksum verification (md5 as
 * Keras publishes, sha256 or its prefix as torchvision names files), an atomic move into place
 * (a crash never leaves a half file under the final name), a progress bar on a TTY, and an offline
 * mode (`TRANSFERKIT_OFFLINE=1`) that never touches the network and says which file to put where.
 * `TRANSFERKIT_MIRROR` replaces the origin of every URL (a company mirror, or a loopback server in tests).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';

/** Options of {@link cachedDownload}. */
export interface DownloadOptions {
  /** Cache folder (default `TRANSFERKIT_CACHE`, else the platform cache folder + `/transferkit`). */
  cacheDir?: string;
  /** File name in the cache (default the URL's last path segment). */
  fileName?: string;
  md5?: string;
  sha256?: string;
  /** A prefix of the sha256 (torchvision puts 8 hex digits in its file names). */
  sha256Prefix?: string;
  /** Never use the network (default: `TRANSFERKIT_OFFLINE=1`). */
  offline?: boolean;
  /** Progress: `'auto'` (a bar on a TTY stderr), `'silent'`, or a function of (received, total). */
  progress?: 'auto' | 'silent' | ((received: number, total: number | null) => void);
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
 * Returns the cached path of `url`, downloading it first when absent (resuming a partial
 * download, verifying the checksum, moving it into place atomically).
 */
export async function cachedDownload(url: string, options: DownloadOptions = {}): Promise<string> {
  const dir = options.cacheDir ?? defaultCacheDir();
  const name = options.fileName ?? decodeURIComponent(new URL(url).pathname.split('/').pop() ?? 'download');
  const target = path.join(dir, name);
  if (fs.existsSync(target)) {
    const bad = await verify(target, options);
    if (bad === null) return target;
    fs.rmSync(target); // a cached file that fails its checksum is fetched again
  }
  const offline = options.offline ?? process.env.TRANSFERKIT_OFFLINE === '1';
  if (offline) {
    // Say which switch made this offline: the caller's option (the CLI without --allow-downloads) or the environment.
    const why = options.offline === true
      ? `downloads are off for this call (download: { offline: true }; on the command line, add --allow-downloads to fetch it)`
      : 'offline (TRANSFERKIT_OFFLINE=1; unset it to fetch it)';
    throw new TransferKitError('E_IO_NOT_FOUND', `${name} is not in the cache and ${why}. Or download ${url} yourself and place it at ${target}.`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const part = `${target}.part`;
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const source = mirrored(url);
  let res: Response;
  try {
    res = await fetch(source, have > 0 ? { headers: { Range: `bytes=${have}-` } } : {});
  } catch (err) {
    throw new TransferKitError('E_IO_HTTP', `Could not reach ${source}: ${(err as Error).message}. Check the network, or set TRANSFERKIT_OFFLINE=1 and place the file at ${target}.`, { cause: err });
  }
  if (!(res.ok || res.status === 206)) throw new TransferKitError('E_IO_HTTP', `${source} answered HTTP ${res.status} ${res.statusText}.`);
  const resumed = res.status === 206 && have > 0;
  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? (resumed ? have + length : length) : null;
  const report = reporter(options, name);
  const out = fs.openSync(part, resumed ? 'a' : 'w');
  let received = resumed ? have : 0;
  try {
    const reader = res.body?.getReader();
    if (reader !== undefined) {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        fs.writeSync(out, r.value);
        received += r.value.byteLength;
        report(received, total);
      }
    }
  } catch (err) {
    throw new TransferKitError('E_IO_HTTP', `The download of ${source} broke off after ${received} bytes (${(err as Error).message}). Run again to resume from ${part}.`, { cause: err });
  } finally {
    fs.closeSync(out);
  }
  if (total !== null && received !== total) {
    throw new TransferKitError('E_IO_HTTP', `The download of ${source} is truncated: ${received} of ${total} bytes. Run again to resume from ${part}.`);
  }
  const bad = await verify(part, options);
  if (bad !== null) {
    fs.rmSync(part, { force: true });
    throw new TransferKitError('E_IO_CHECKSUM', `${source} failed its checksum (${bad}); the download was deleted. The file on the server differs from the published one: check the URL or mirror.`);
  }
  fs.renameSync(part, target);
  return target;
}
