/**
 * The one place that resolves a path named *inside* a file (a shard in a `weightsManifest`, an
 * entry of a safetensors index `weight_map`, a cache file name derived from a URL) against the
 * folder that file lives in. A downloaded model is untrusted input: `"../../etc/passwd"` or an
 * absolute path in its manifest must not make the library read (or report the size of) a file
 * outside the model folder, and a crafted URL must not make the download cache write outside the
 * cache folder.
 */
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';

export { staysInside } from './_relative_path.js';

/**
 * Resolves `rel` under `root` and returns the absolute path; throws `E_IO_PATH_ESCAPE` when `rel`
 * is absolute, contains a NUL byte, or leaves `root` through `..` (after normalisation, so
 * `a/../../x` is caught as well as `../x`). `what` names the file that listed `rel`.
 */
export function resolveInside(root: string, rel: string, what: string): string {
  const fail = (why: string): never => {
    throw new TransferKitError(
      'E_IO_PATH_ESCAPE',
      `${what} names the file '${rel}', which ${why}. Files listed inside a model or cache must be relative paths inside its folder (${root}); the file is corrupt or hostile.`,
    );
  };
  if (typeof rel !== 'string' || rel.length === 0) fail('is not a file name');
  if (rel.includes('\0')) fail('contains a NUL byte');
  if (path.isAbsolute(rel) || path.win32.isAbsolute(rel) || /^[a-zA-Z]:/.test(rel)) fail('is an absolute path');
  const base = path.resolve(root);
  const full = path.resolve(base, rel.replace(/\\/g, '/'));
  const back = path.relative(base, full);
  if (back === '' || back === '..' || back.startsWith(`..${path.sep}`) || path.isAbsolute(back)) fail('points outside that folder');
  return full;
}

/**
 * A single safe file name from untrusted text (a URL's last segment after percent-decoding):
 * separators, `..`, control characters and NUL are replaced, so the result can never name a
 * different folder. Empty results become `fallback`.
 */
export function safeFileName(name: string, fallback = 'download'): string {
  // Control characters (0-31, 127) are replaced too: no regex class, the linter refuses those.
  const cleaned = Array.from(name, (c) => (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127 ? '_' : c)).join('').replace(/[\\/:*?"<>|]/g, '_').replace(/^\.+/, '_');
  return cleaned.length === 0 || cleaned === '_' ? fallback : cleaned.slice(0, 200);
}
