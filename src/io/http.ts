/**
 * Load a TF.js layers model over http(s) with the same checks as the filesystem loader
 * (missing shard, shard size, dtype), and errors that name the URL at fault.
 *
 * Every request has two timeouts, because `fetch` has none of its own that a caller can rely on
 * (Node's undici waits 300 s for headers and 300 s between body chunks; browsers wait for as long
 * as the OS keeps the socket): a server that accepts the connection and never answers, or stops
 * sending in the middle of a shard, would otherwise hang the load for minutes or forever. The
 * design follows huggingface_hub, whose downloads pass `HF_HUB_DOWNLOAD_TIMEOUT` to `requests` as
 * both the connect and the read timeout: here `timeoutMs` bounds the wait for the response headers
 * and `idleTimeoutMs` the silence between two chunks of the body (not the whole transfer, which may
 * rightly take long for a large file on a slow link). `TRANSFERKIT_HTTP_TIMEOUT_MS` sets the
 * default of both. This module stays free of `node:` imports: it is part of the browser build.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { readArtifacts, type ByteSource } from './_artifacts.js';

/** Options of {@link httpLoader}. */
export interface HttpLoaderOptions {
  /** Extra request options (headers, credentials). */
  requestInit?: RequestInit;
  /** A fetch implementation (default: the global `fetch`). */
  fetch?: typeof fetch;
  /**
   * Milliseconds to wait for the response headers of each request (model.json, every shard)
   * before giving up with `E_IO_TIMEOUT`. Default `TRANSFERKIT_HTTP_TIMEOUT_MS`, else 30,000.
   * `Infinity` turns this timeout off (in Node, fetch itself still gives up after 300 s).
   */
  timeoutMs?: number;
  /**
   * Milliseconds without a single byte of the body before giving up with `E_IO_TIMEOUT`.
   * Default `TRANSFERKIT_HTTP_TIMEOUT_MS`, else 60,000. `Infinity` turns it off (in Node, fetch
   * itself still gives up after 300 s without data).
   */
  idleTimeoutMs?: number;
}

/** Default wait for response headers (huggingface_hub waits 10 s; model hosts behind a CDN can be slower to start). */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/** Default silence allowed between two body chunks. */
export const DEFAULT_HTTP_IDLE_TIMEOUT_MS = 60_000;

/** The two timeouts of a request and, for error messages, where each value came from. @internal */
export interface HttpTimeouts {
  timeoutMs: number;
  idleTimeoutMs: number;
  /** e.g. `timeoutMs=300`, `TRANSFERKIT_HTTP_TIMEOUT_MS=300`, `default timeoutMs=30000`. */
  from: { timeoutMs: string; idleTimeoutMs: string };
}

const ENV = 'TRANSFERKIT_HTTP_TIMEOUT_MS';
/** setTimeout's ceiling (about 24.8 days); anything longer fires at once in every runtime. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkTimeout(value: unknown, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || !(value > 0)) {
    throw new TransferKitError('E_BAD_OPTION', `${name} must be a positive number of milliseconds (or Infinity to turn it off). Received: ${name}=${String(value)}.`);
  }
  return value;
}

/**
 * Resolves `timeoutMs` / `idleTimeoutMs` from the options, then `TRANSFERKIT_HTTP_TIMEOUT_MS`,
 * then the defaults; refuses non-positive or non-numeric values with `E_BAD_OPTION`. @internal
 */
export function resolveHttpTimeouts(o: { timeoutMs?: number; idleTimeoutMs?: number }): HttpTimeouts {
  const raw = globalThis.process?.env?.[ENV];
  let env: number | undefined;
  if (raw !== undefined && raw !== '') {
    const n = raw.trim().toLowerCase() === 'infinity' ? Infinity : Number(raw);
    if (!(n > 0)) {
      throw new TransferKitError('E_BAD_OPTION', `The environment variable ${ENV} must be a positive number of milliseconds. Received: ${ENV}=${JSON.stringify(raw)}. Fix or unset it.`);
    }
    env = n;
  }
  const pick = (value: number | undefined, name: 'timeoutMs' | 'idleTimeoutMs', fallback: number): [number, string] => {
    if (value !== undefined) return [checkTimeout(value, name), `${name}=${value}`];
    if (env !== undefined) return [env, `${ENV}=${raw}`];
    return [fallback, `default ${name}=${fallback}`];
  };
  const [timeoutMs, fromT] = pick(o.timeoutMs, 'timeoutMs', DEFAULT_HTTP_TIMEOUT_MS);
  const [idleTimeoutMs, fromI] = pick(o.idleTimeoutMs, 'idleTimeoutMs', DEFAULT_HTTP_IDLE_TIMEOUT_MS);
  return { timeoutMs, idleTimeoutMs, from: { timeoutMs: fromT, idleTimeoutMs: fromI } };
}

/**
 * One line about why a request failed: the Node error code (ECONNREFUSED, ENOTFOUND, ...) and its
 * message, which undici hides in `err.cause` (or in `cause.errors` when several addresses were
 * tried) behind a bare "fetch failed". @internal
 */
export function describeNetworkError(err: unknown): string {
  const seen: Array<{ code?: unknown; message?: unknown; errors?: unknown }> = [];
  let e = err as { cause?: unknown; code?: unknown; message?: unknown; errors?: unknown } | undefined;
  for (let i = 0; e !== undefined && e !== null && typeof e === 'object' && i < 5; i++) {
    seen.push(e);
    e = (e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as typeof e;
  }
  const coded = seen.find((x) => typeof x.code === 'string');
  const code = coded?.code as string | undefined;
  const detail = String((coded ?? seen.at(-1))?.message ?? err);
  const why: Record<string, string> = {
    ECONNREFUSED: 'the connection was refused: nothing listens at that host and port',
    ENOTFOUND: 'the host name could not be resolved',
    EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
    ECONNRESET: 'the server reset the connection',
    ETIMEDOUT: 'the connection timed out at the network level',
    EHOSTUNREACH: 'the host is unreachable',
    ENETUNREACH: 'the network is unreachable',
    UND_ERR_CONNECT_TIMEOUT: 'the connection could not be opened in time',
    UND_ERR_SOCKET: 'the server closed the connection',
    UND_ERR_HEADERS_TIMEOUT: "Node's fetch gave up waiting for the response headers (300 s)",
    UND_ERR_BODY_TIMEOUT: "Node's fetch gave up waiting for the body (300 s)",
  };
  if (code === undefined) return detail;
  if (why[code] !== undefined) return `${why[code]} (${code}): ${detail}`;
  return detail.includes(code) ? detail : `${code}: ${detail}`;
}

const TIMEOUT = Symbol('timeout');

/** Races `p` against a timer of `ms`; `onFire` runs (to abort the request) when the timer wins. */
async function within<T>(p: Promise<T>, ms: number, onFire: () => void): Promise<T | typeof TIMEOUT> {
  if (!Number.isFinite(ms)) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fired = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(() => {
      // Settle first: aborting rejects `p` at once, and the race must see the timeout, not that rejection.
      resolve(TIMEOUT);
      onFire();
    }, Math.min(ms, MAX_TIMER_MS));
  });
  // The loser may still reject (an aborted fetch does): that rejection is expected, not unhandled.
  p.catch(() => undefined);
  try {
    return await Promise.race([p, fired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A response whose body is read chunk by chunk under the idle timeout. @internal */
export interface TimedResponse {
  response: Response;
  /** The next chunk of the body, or null at its end; throws `E_IO_TIMEOUT` after `idleTimeoutMs` of silence. */
  next(): Promise<Uint8Array | null>;
  /** Stops reading and releases the connection (for a body the caller decided not to use). */
  cancel(): Promise<void>;
}

/**
 * `fetch` with the two timeouts of {@link HttpTimeouts}. Both abort the request through an
 * AbortController (so the socket is released) *and* race the pending promise, so a custom `fetch`
 * that ignores `signal` cannot hang the caller either. Timeouts throw `E_IO_TIMEOUT` naming the
 * URL, the time and the setting; `hint(phase, bytes)` (what became of the partial data, e.g. "kept
 * for the next call to resume") is inserted before the advice. Network failures are left to the
 * caller, which knows what to say about them. @internal
 */
export async function fetchWithTimeouts(
  doFetch: typeof fetch,
  url: string,
  init: RequestInit,
  t: HttpTimeouts,
  hint: (phase: 'headers' | 'body', bodyBytes: number) => string = () => '',
): Promise<TimedResponse> {
  const extra = (phase: 'headers' | 'body', n: number) => {
    const h = hint(phase, n);
    return h === '' ? '' : ` ${h}`;
  };
  const ctl = new AbortController();
  // The caller's own signal (requestInit.signal) still cancels; its listener is removed once this
  // request is over, so a long-lived signal shared by many requests does not collect listeners.
  const user = init.signal;
  const onUserAbort = () => ctl.abort(user?.reason);
  if (user) {
    if (user.aborted) ctl.abort(user.reason);
    else user.addEventListener('abort', onUserAbort, { once: true });
  }
  const detach = () => user?.removeEventListener('abort', onUserAbort);
  const abort = () => ctl.abort(new Error('timed out'));
  let res: Response | typeof TIMEOUT;
  try {
    res = await within(doFetch(url, { ...init, signal: ctl.signal }), t.timeoutMs, abort);
  } catch (err) {
    detach();
    throw err;
  }
  if (res === TIMEOUT) {
    detach();
    throw new TransferKitError(
      'E_IO_TIMEOUT',
      `No response from ${url} within ${t.timeoutMs} ms (${t.from.timeoutMs}): the server accepted the connection but sent no answer, or the connection could not be opened in time.${extra('headers', 0)} Check the URL and the network; to wait longer, raise the timeoutMs option or set TRANSFERKIT_HTTP_TIMEOUT_MS.`,
    );
  }
  const reader = res.body?.getReader();
  let received = 0;
  return {
    response: res,
    next: async () => {
      if (reader === undefined) {
        detach();
        return null;
      }
      let r: ReadableStreamReadResult<Uint8Array> | typeof TIMEOUT;
      try {
        r = await within(reader.read(), t.idleTimeoutMs, abort);
      } catch (err) {
        detach();
        throw err;
      }
      if (r === TIMEOUT) {
        detach();
        throw new TransferKitError(
          'E_IO_TIMEOUT',
          `${url} sent nothing for ${t.idleTimeoutMs} ms after ${received} bytes of its body (${t.from.idleTimeoutMs}): the transfer stalled.${extra('body', received)} Check the network; to wait longer, raise the idleTimeoutMs option or set TRANSFERKIT_HTTP_TIMEOUT_MS.`,
        );
      }
      if (r.done) {
        detach();
        return null;
      }
      received += r.value.byteLength;
      return r.value;
    },
    cancel: async () => {
      detach();
      await reader?.cancel().catch(() => undefined);
      ctl.abort();
    },
  };
}

function httpSource(base: URL, opts: HttpLoaderOptions): ByteSource {
  const doFetch = opts.fetch ?? globalThis.fetch;
  return {
    describe: (rel) => new URL(rel, base).toString(),
    read: async (rel) => {
      const url = new URL(rel, base).toString();
      // Resolved per request, so a change of TRANSFERKIT_HTTP_TIMEOUT_MS applies to the next load.
      const timeouts = resolveHttpTimeouts(opts);
      let timed: TimedResponse;
      try {
        timed = await fetchWithTimeouts(doFetch, url, opts.requestInit ?? {}, timeouts);
      } catch (err) {
        if ((err as { code?: unknown }).code === 'E_IO_TIMEOUT') throw err;
        throw new TransferKitError('E_IO_HTTP', `Request for ${url} failed: ${describeNetworkError(err)}. Check the URL and that the server is reachable.`, { cause: err });
      }
      const res = timed.response;
      if (res.status === 404) {
        await timed.cancel();
        return null;
      }
      if (!res.ok) {
        await timed.cancel();
        throw new TransferKitError('E_IO_HTTP', `Request for ${url} answered HTTP ${res.status} ${res.statusText}.`);
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      try {
        for (let c = await timed.next(); c !== null; c = await timed.next()) {
          chunks.push(c);
          size += c.byteLength;
        }
      } catch (err) {
        if ((err as { code?: unknown }).code === 'E_IO_TIMEOUT') throw err;
        throw new TransferKitError('E_IO_HTTP', `The transfer of ${url} broke off after ${size} bytes: ${describeNetworkError(err)}. Load again; if it keeps failing, check the server.`, { cause: err });
      }
      if (chunks.length === 1) return chunks[0];
      const out = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.byteLength;
      }
      return out;
    },
  };
}

/**
 * A TF.js IOHandler that loads a layers model from an http(s) URL of its model.json
 * (or of the folder holding it).
 */
export function httpLoader(url: string, options: HttpLoaderOptions = {}): tf.io.IOHandler {
  const jsonUrl = url.endsWith('.json') ? url : `${url.replace(/\/$/, '')}/model.json`;
  const base = new URL(jsonUrl);
  const file = base.pathname.split('/').pop() ?? 'model.json';
  return { load: () => readArtifacts(httpSource(base, options), file) };
}
