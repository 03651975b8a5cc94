/**
 * The browser-safe half of `_paths.ts` (no `node:path`): model.json shard paths are checked with
 * it in every loader, including the HTTP one that runs in browsers, where `../` would fetch
 * another URL of the same server.
 */

/** True when a relative path (with `/` separators) stays inside its root; the browser-safe check used for URLs. */
export function staysInside(rel: string): boolean {
  if (typeof rel !== 'string' || rel.length === 0 || rel.includes('\0')) return false;
  // A server may percent-decode before resolving (`..%2F` is `../` to many of them): check both spellings.
  if (rel.includes('%')) {
    let decoded: string | null = null;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      // A stray '%' (`weights_100%.bin`) is no encoding: the raw name is checked below.
    }
    if (decoded !== null && decoded !== rel && !staysInside(decoded)) return false;
  }
  if (rel.startsWith('/') || rel.startsWith('\\') || /^[a-zA-Z]:/.test(rel) || /^[a-z][a-z0-9+.-]*:/i.test(rel)) return false;
  let depth = 0;
  for (const part of rel.split(/[\\/]+/)) {
    if (part === '..') depth--;
    else if (part !== '.' && part !== '') depth++;
    if (depth < 0) return false;
  }
  return depth > 0;
}
