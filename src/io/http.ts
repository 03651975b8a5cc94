/**
 * Load a TF.js layers model over http(s) with the same checks as the filesystem loader
 * (missing shard, shard size, dtype), and errors that name the URL at fault.
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
}

function httpSource(base: URL, opts: HttpLoaderOptions): ByteSource {
  const doFetch = opts.fetch ?? globalThis.fetch;
  return {
    describe: (rel) => new URL(rel, base).toString(),
    read: async (rel) => {
      const url = new URL(rel, base).toString();
      let res: Response;
      try {
        res = await doFetch(url, opts.requestInit);
      } catch (err) {
        throw new TransferKitError('E_IO_HTTP', `Request for ${url} failed: ${(err as Error).message}. Check the URL and that the server is reachable.`, { cause: err });
      }
      if (res.status === 404) return null;
      if (!res.ok) {
        throw new TransferKitError('E_IO_HTTP', `Request for ${url} answered HTTP ${res.status} ${res.statusText}.`);
      }
      return new Uint8Array(await res.arrayBuffer());
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
