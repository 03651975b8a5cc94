/**
 * ONNX encoders as frozen feature extractors, run by ONNX Runtime through the optional peer
 * `@huggingface/transformers` (transformers.js): any encoder published in its layout (`config.json`,
 * `tokenizer.json` or `preprocessor_config.json`, `onnx/model{_quantized,_fp16,...}.onnx`) becomes a
 * {@link FrozenEncoder}, i.e. the frozen part of feature-extraction transfer learning.
 *
 * Offline by default: a local folder is read as is; a Hub id is only fetched when the caller passes
 * `allowDownloads: true` (transformers.js' `env.allowRemoteModels`), into transferkit's cache, and
 * read from there afterwards without the network.
 *
 * Node only (folders, hashing with node:crypto); transformers.js itself also runs in browsers.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import type { RgbImage } from '../data/decode_image.js';
import { decodeImageAsync } from '../data/decode_image_node.js';
import { defaultCacheDir } from '../io/download.js';
import type { EncoderInput, EncoderModality, EncoderPooling, FrozenEncoder } from '../models/frozen_encoder.js';
import { poolTokenStates } from './pooling.js';
import { registerLiveEncoder, unregisterLiveEncoder } from '../backends/live_encoders.js';
import { importOptional } from '../utils/import_optional.js';
import { ensureBackend } from '../backends/backend.js';
import { loadTokenizer } from '../models/text/load_text_model.js';
import { disposeBatch } from '../models/text/inputs.js';

/** transformers.js' weight variants (`dtype`), each a file `onnx/model<suffix>.onnx`. */
export type OnnxDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';

/** The file suffix transformers.js loads for each dtype (its `DEFAULT_DTYPE_SUFFIX_MAPPING`). */
export const ONNX_DTYPE_SUFFIX: Readonly<Record<OnnxDtype, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** Options of {@link loadOnnxEncoder} (and of `loadPretrained('onnx:...')`). */
export interface OnnxEncoderOptions {
  /**
   * `'mean'` (default for text: masked mean, as sentence-transformers; images: mean of the patch
   * tokens, as timm's `global_pool='avg'`) or `'cls'` (default for images: the class token).
   */
  pooling?: EncoderPooling;
  /** L2-normalise each embedding (default false). */
  normalize?: boolean;
  /** Which weight file: `'fp32'` (default, `onnx/model.onnx`), `'q8'` (`onnx/model_quantized.onnx`), ... */
  dtype?: OnnxDtype;
  /** Text: truncate to this many tokens, special tokens included (default: the tokenizer's `model_max_length`, at most 512). */
  maxLength?: number;
  /** What the encoder embeds (default: `'text'` when the folder has tokenizer.json, `'image'` when it has preprocessor_config.json). */
  modality?: EncoderModality;
  /** Hub ids: allow fetching from the Hub (default false: offline, files must already be in `cacheDir`). */
  allowDownloads?: boolean;
  /** Where Hub files are cached (default: `<transferkit cache>/transformers`). */
  cacheDir?: string;
  /** A Hub mirror (default `https://huggingface.co/`), as transformers.js' `env.remoteHost`. */
  remoteHost?: string;
  /** Hub revision (default `'main'`). */
  revision?: string;
  /** ONNX Runtime execution provider (default `'cpu'`). */
  device?: 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'coreml';
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's, one per core). */
  threads?: number;
}

/** The parts of transformers.js this module uses (typed here so the optional peer's types are not needed by users). */
interface TjsTensor {
  dims: number[];
  data: ArrayLike<number | bigint>;
  dispose?: () => void;
}
interface TjsModel {
  (inputs: Record<string, unknown>): Promise<Record<string, TjsTensor>>;
  dispose(): Promise<unknown>;
  sessions?: Record<string, { inputNames?: string[] }>;
}
interface TjsProcessor {
  (images: unknown[]): Promise<Record<string, TjsTensor>>;
}
interface TransformersModule {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; cacheDir: string | null; remoteHost: string; useFSCache: boolean };
  AutoModel: { from_pretrained(id: string, options: Record<string, unknown>): Promise<TjsModel> };
  AutoTokenizer: { from_pretrained(id: string, options: Record<string, unknown>): Promise<unknown> };
  AutoProcessor: { from_pretrained(id: string, options: Record<string, unknown>): Promise<TjsProcessor> };
  RawImage: new (data: Uint8ClampedArray, width: number, height: number, channels: number) => unknown;
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => TjsTensor;
}

/** The npm package name of the optional peer. */
export const TRANSFORMERS_PACKAGE = '@huggingface/transformers';

/**
 * Imports transformers.js (`specifier`, default the npm package), turning its absence into one
 * clear error that says what to install.
 */
export async function importTransformers(specifier: string = TRANSFORMERS_PACKAGE): Promise<TransformersModule> {
  try {
    return (await importOptional(specifier)) as TransformersModule;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new TransferKitError(
        'E_BACKEND_UNAVAILABLE',
        `ONNX encoders need the optional peer dependency ${specifier}, which is not installed. Run \`npm install ${TRANSFORMERS_PACKAGE}\` (offline machines: put \`onnxruntime-node-install=skip\` in .npmrc first), or use a TF.js encoder (textEncoder).`,
        { cause: err },
      );
    }
    throw err;
  }
}

const looksLikePath = (s: string): boolean => s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || /^[A-Za-z]:[\\/]/.test(s) || s.startsWith('file://');
const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function listOnnx(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.onnx')) : [];
}

/** Checks a local folder's layout; returns the files that decide its embeddings. */
function checkFolder(dir: string, dtype: OnnxDtype, modality: EncoderModality | undefined): { modality: EncoderModality; files: string[] } {
  if (!statSync(dir).isDirectory()) {
    throw new TransferKitError('E_IO_NOT_FOUND', `${dir} is a file; an ONNX encoder is a folder holding config.json and onnx/model.onnx (transformers.js layout).`);
  }
  const config = path.join(dir, 'config.json');
  if (!existsSync(config)) {
    throw new TransferKitError('E_IO_NOT_FOUND', `${config} is missing: an ONNX encoder folder needs the model's config.json beside onnx/ (transformers.js layout).`);
  }
  const onnxFile = path.join(dir, 'onnx', `model${ONNX_DTYPE_SUFFIX[dtype]}.onnx`);
  if (!existsSync(onnxFile)) {
    const have = listOnnx(path.join(dir, 'onnx'));
    const hint = have.length > 0
      ? ` onnx/ holds ${have.join(', ')}: pick that variant with dtype (${Object.entries(ONNX_DTYPE_SUFFIX).filter(([, s]) => have.includes(`model${s}.onnx`)).map(([d]) => `'${d}'`).join(', ') || 'none matches a known dtype'}).`
      : ' Export the model to ONNX (e.g. `optimum-cli export onnx`) and put model.onnx in onnx/.';
    throw new TransferKitError('E_IO_NOT_FOUND', `${onnxFile} is missing (dtype '${dtype}').${hint}`);
  }
  const hasTokenizer = existsSync(path.join(dir, 'tokenizer.json'));
  const hasProcessor = existsSync(path.join(dir, 'preprocessor_config.json'));
  const m = modality ?? (hasTokenizer ? 'text' : hasProcessor ? 'image' : undefined);
  if (m === undefined || (m === 'text' && !hasTokenizer)) {
    throw new TransferKitError('E_IO_NOT_FOUND', `${path.join(dir, 'tokenizer.json')} is missing: a text encoder needs its fast tokenizer file (an image encoder needs preprocessor_config.json; pass modality to choose).`);
  }
  if (m === 'image' && !hasProcessor) {
    throw new TransferKitError('E_IO_NOT_FOUND', `${path.join(dir, 'preprocessor_config.json')} is missing: an image encoder needs its image processor settings.`);
  }
  const extra = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'preprocessor_config.json', `onnx/model${ONNX_DTYPE_SUFFIX[dtype]}.onnx_data`];
  return { modality: m, files: [onnxFile, ...extra.map((f) => path.join(dir, f)).filter((f) => existsSync(f))] };
}

async function fingerprintOf(files: string[], settings: Record<string, unknown>): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) h.update(`${path.basename(f)}:${await sha256File(f)}\n`);
  h.update(JSON.stringify(settings));
  return h.digest('hex');
}

function toRawImage(tjs: TransformersModule, img: RgbImage): unknown {
  return new tjs.RawImage(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength), img.width, img.height, 3);
}

/**
 * Loads an ONNX encoder (local folder or Hub id) as a frozen feature extractor.
 *
 * @example
 * ```ts
 * const encoder = await loadOnnxEncoder('models/all-MiniLM-L6-v2', { pooling: 'mean', normalize: true });
 * const { features } = await extractFeatures(encoder, ['a great film', 'dull']);
 * ```
 */
export async function loadOnnxEncoder(source: string, options: OnnxEncoderOptions = {}): Promise<FrozenEncoder> {
  // The encoder runs in ONNX Runtime, but the head put on it trains in TF.js.
  await ensureBackend();
  const dtype = options.dtype ?? 'fp32';
  if (!(dtype in ONNX_DTYPE_SUFFIX)) {
    throw new TransferKitError('E_BAD_OPTION', `loadOnnxEncoder: unknown dtype. Received: dtype=${String(dtype)}. Choose one of ${Object.keys(ONNX_DTYPE_SUFFIX).join(', ')}.`);
  }
  if (options.pooling !== undefined && options.pooling !== 'cls' && options.pooling !== 'mean') {
    throw new TransferKitError('E_BAD_OPTION', `loadOnnxEncoder: unknown pooling. Received: pooling=${String(options.pooling)}. Choose 'mean' or 'cls'.`);
  }
  if (options.maxLength !== undefined && !(Number.isInteger(options.maxLength) && options.maxLength >= 2)) {
    throw new TransferKitError('E_BAD_OPTION', `loadOnnxEncoder: maxLength must be an integer >= 2. Received: maxLength=${options.maxLength}.`);
  }
  const local = source.replace(/^file:\/\//, '');
  const isLocal = existsSync(local) || looksLikePath(source);
  if (isLocal && !existsSync(local)) {
    throw new TransferKitError('E_IO_NOT_FOUND', `No ONNX encoder folder at ${local}. Pass a folder in transformers.js layout (config.json, tokenizer.json, onnx/model.onnx) or a Hub id with allowDownloads: true.`);
  }
  if (!isLocal && !HUB_ID.test(source)) {
    throw new TransferKitError('E_BAD_OPTION', `'${source}' is neither an existing folder nor a Hub id ('org/name').`);
  }
  const tjs = await importTransformers();
  const cacheDir = options.cacheDir ?? path.join(defaultCacheDir(), 'transformers');
  // transformers.js keeps its switches in one global `env`: set them for this load.
  tjs.env.allowLocalModels = true;
  tjs.env.allowRemoteModels = !isLocal && options.allowDownloads === true;
  tjs.env.useFSCache = true;
  tjs.env.cacheDir = cacheDir;
  if (options.remoteHost !== undefined) tjs.env.remoteHost = options.remoteHost.endsWith('/') ? options.remoteHost : `${options.remoteHost}/`;

  const id = isLocal ? path.resolve(local) : source;
  const revision = options.revision ?? 'main';
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    throw new TransferKitError('E_BAD_OPTION', `loadOnnxEncoder: threads must be an integer >= 1. Received: threads=${options.threads}.`);
  }
  const pretrained = {
    local_files_only: !tjs.env.allowRemoteModels, revision, dtype, device: options.device ?? 'cpu',
    ...(options.threads !== undefined ? { session_options: { intraOpNumThreads: options.threads, interOpNumThreads: 1 } } : {}),
  };
  let modality: EncoderModality;
  let files: string[];
  if (isLocal) {
    ({ modality, files } = checkFolder(id, dtype, options.modality));
  } else {
    modality = options.modality ?? 'text';
    files = [];
  }
  // transformers.js cache folder of a Hub id: <cacheDir>/<id>/<file> (main) or <id>/<revision>/<file>.
  const folder = isLocal ? id : revision === 'main' ? path.join(cacheDir, source) : path.join(cacheDir, source, revision);
  if (!isLocal && !tjs.env.allowRemoteModels) {
    // Checked here rather than by transformers.js: it memoizes a failed offline lookup of the
    // tokenizer files (get_tokenizer_files ignores local_files_only), so a later allowed download
    // in the same process would fail too.
    const onnxFile = path.join(folder, 'onnx', `model${ONNX_DTYPE_SUFFIX[dtype]}.onnx`);
    if (!existsSync(path.join(folder, 'config.json')) || !existsSync(onnxFile)) {
      throw new TransferKitError('E_IO_NOT_FOUND', `ONNX encoder '${source}' is not in the cache (${folder} has no config.json and onnx/model${ONNX_DTYPE_SUFFIX[dtype]}.onnx) and downloads are off: pass allowDownloads: true to fetch it once, or a local folder.`);
    }
  }
  const wrap = (what: string, err: unknown): TransferKitError => {
    const msg = err instanceof Error ? err.message : String(err);
    const offline = !isLocal && !tjs.env.allowRemoteModels ? ` It is not in the cache (${cacheDir}) and downloads are off: pass allowDownloads: true to fetch it once.` : '';
    return new TransferKitError('E_IO_NOT_FOUND', `Could not load the ${what} of ONNX encoder '${source}': ${msg}.${offline}`, { cause: err });
  };
  let model: TjsModel;
  let processor: TjsProcessor | null = null;
  try {
    // For a Hub id this also brings the tokenizer files into the cache folder read below.
    if (modality === 'text') await tjs.AutoTokenizer.from_pretrained(id, pretrained);
    else processor = await tjs.AutoProcessor.from_pretrained(id, pretrained);
  } catch (err) {
    throw wrap(modality === 'text' ? 'tokenizer' : 'image processor', err);
  }
  try {
    model = await tjs.AutoModel.from_pretrained(id, pretrained);
  } catch (err) {
    throw wrap('model', err);
  }
  if (!isLocal && existsSync(folder)) files = checkFolder(folder, dtype, modality).files;
  // Texts are tokenized by transferkit's TextTokenizer (the same tokenizer.json, HF Python's
  // truncation): transformers.js 4.3 truncates by cutting the ids after the special tokens are
  // added, which drops the final [SEP]; HF (and the TF.js path) keep it.
  const tokenizer = modality === 'text' ? loadTokenizer(folder) ?? null : null;
  if (modality === 'text' && tokenizer === null) throw new TransferKitError('E_IO_NOT_FOUND', `${path.join(folder, 'tokenizer.json')} is missing: a text encoder needs its fast tokenizer file.`);
  const inputNames = Object.values(model.sessions ?? {})[0]?.inputNames ?? ['input_ids', 'attention_mask', 'token_type_ids'];
  const configFile = files.find((f) => path.basename(f) === 'config.json');
  const config = configFile !== undefined ? (JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>) : {};
  const pooling: EncoderPooling = options.pooling ?? (modality === 'text' ? 'mean' : 'cls');
  const normalize = options.normalize ?? false;
  const maxPositions = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : 512;
  const maxLength = options.maxLength ?? Math.min(tokenizer?.modelMaxLength ?? 512, maxPositions, 512);
  const fingerprint = await fingerprintOf(files, { source: files.length > 0 ? 'files' : `${source}@${revision}`, pooling, normalize, maxLength, dtype, modality });

  const run = async (inputs: readonly EncoderInput[]): Promise<{ rows: Float32Array; dim: number }> => {
    let feeds: Record<string, TjsTensor>;
    // Text: the attention mask pools the token states (kept here; fed only if the graph takes it).
    let tokenMask: ArrayLike<number> | null = null;
    if (tokenizer !== null) {
      const texts = inputs.map((x, i) => {
        if (typeof x !== 'string') throw new TransferKitError('E_DATA', `Text encoder '${source}': input ${i} is not a string.`);
        return x;
      });
      const batch = tokenizer.batch(texts, { maxLength });
      try {
        const [ids, mask, types] = await Promise.all([batch.inputIds.data(), batch.attentionMask.data(), batch.tokenTypeIds.data()]);
        const dims = batch.inputIds.shape;
        const all: Record<string, ArrayLike<number>> = { input_ids: ids, attention_mask: mask, token_type_ids: types };
        feeds = {};
        for (const n of inputNames) {
          if (all[n] === undefined) throw new TransferKitError('E_MODEL_TOPOLOGY', `ONNX encoder '${source}' takes an input '${n}' that a text batch does not provide (input_ids, attention_mask, token_type_ids).`);
          feeds[n] = new tjs.Tensor('int64', BigInt64Array.from(Array.from(all[n], (v) => BigInt(v))), dims);
        }
        tokenMask = mask as ArrayLike<number>;
      } finally {
        disposeBatch(batch);
      }
    } else {
      const images = await Promise.all(inputs.map(async (x, i) => {
        const img = typeof x === 'string' ? await decodeImageAsync(new Uint8Array(readFileSync(x)), x) : x;
        if (img === null || typeof img !== 'object' || !(img.data instanceof Uint8Array)) throw new TransferKitError('E_DATA', `Image encoder '${source}': input ${i} is neither an image path nor an RgbImage.`);
        return toRawImage(tjs, img);
      }));
      feeds = await (processor as TjsProcessor)(images);
    }
    const out = await model(feeds);
    try {
      const hidden = out.last_hidden_state;
      if (hidden === undefined || hidden.dims.length !== 3) {
        throw new TransferKitError('E_MODEL_TOPOLOGY', `ONNX encoder '${source}' gave no last_hidden_state [batch, tokens, hidden] output (outputs: ${Object.keys(out).join(', ')}).`);
      }
      const dims = hidden.dims as [number, number, number];
      // Image encoders (ViT family): the mean is over patch tokens, the class token left out.
      return { rows: poolTokenStates(hidden.data as ArrayLike<number>, tokenMask, dims, pooling, normalize, tokenizer !== null ? 0 : 1), dim: dims[2] };
    } finally {
      for (const t of [...Object.values(out), ...Object.values(feeds)]) t.dispose?.();
    }
  };
  // One probe fixes the embedding width from the graph itself (configs name it differently).
  const probe = await run([modality === 'text' ? 'probe' : { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(128) }]);
  const dim = probe.dim;
  const encoder: FrozenEncoder = {
    kind: 'frozen-encoder',
    id: isLocal ? id : source,
    modality,
    dim,
    pooling,
    normalize,
    runtime: { runtime: 'onnxruntime-node', device: options.device ?? 'cpu', ...(options.threads !== undefined ? { threads: options.threads } : {}) },
    fingerprint,
    encode: async (inputs) => {
      if (inputs.length === 0) return new Float32Array(0);
      return (await run(inputs)).rows;
    },
    dispose: async () => {
      unregisterLiveEncoder(encoder);
      await model.dispose();
    },
  };
  registerLiveEncoder(encoder);
  return encoder;
}
