/**
 * `loadTextModel`: a BERT-family model from a Hugging Face folder or Hub id, as
 * `AutoModelFor*.from_pretrained` — `config.json`, weights from `model.safetensors` (or a sharded
 * `model.safetensors.index.json`; else PyTorch's `pytorch_model.bin`, read without running its
 * pickle), and the tokenizer from `tokenizer.json`, else `vocab.txt`
 * (+ `tokenizer_config.json`). Node only (files, cache).
 *
 * Name matching is strict, with HF's exceptions: a task head absent from the checkpoint is newly
 * initialised (HF's "Some weights ... were newly initialized" warning, here in `loadReport`), and
 * tensors another head would use (`cls.*`, `embeddings.position_ids`) are reported as unused.
 * Anything else missing, unexpected or mis-shaped is an error naming the tensors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../../errors.js';
import { settleFolder } from '../../io/_atomic.js';
import { checkJsonDepth, shortJson } from '../../utils/json.js';
import { cachedDownload, defaultCacheDir, type DownloadOptions } from '../../io/download.js';
import { readSafetensors, readShardIndex } from '../../io/safetensors.js';
import { resolveInside } from '../../io/_paths.js';
import { readTorchCheckpoint } from '../../io/torch_pth.js';
import type { SafeTensor } from '../../io/safetensors.js';

/** Weight files in from_pretrained's order of preference: [single file, shard index]. */
const WEIGHT_FILES: ReadonlyArray<[string, string]> = [
  ['model.safetensors', 'model.safetensors.index.json'],
  ['pytorch_model.bin', 'pytorch_model.bin.index.json'],
];

/** A state dict from safetensors or PyTorch's pickled `pytorch_model.bin` (read without running it), sharded or not. */
function readWeights(file: string): Map<string, SafeTensor> {
  if (!file.endsWith('pytorch_model.bin.index.json')) return file.endsWith('.bin') ? readTorchCheckpoint(file) : readSafetensors(file);
  // Every shard resolved inside the model folder (E_IO_PATH_ESCAPE otherwise) before any is read.
  const out = new Map<string, SafeTensor>();
  for (const { path: shard } of readShardIndex(file)) for (const [k, v] of readTorchCheckpoint(shard)) out.set(k, v);
  return out;
}
import { loadHfWeights } from './hf_weights.js';
import { parseVocab } from '../../data/text/wordpiece_json.js';
import { tokenizerFromFiles, tokenizerFromVocab, type TextTokenizer } from '../../data/text/tokenizer.js';
import { buildTextModel, parseTextConfig } from './build_text_model.js';
import type { TextModel, TextModelOptions } from './text_model.js';
import type { HfWeightsOptions } from './hf_weights.js';
import { ensureBackend } from '../../backends/backend.js';

/** Options of {@link loadTextModel}. */
export interface LoadTextModelOptions extends TextModelOptions, HfWeightsOptions {
  /** `null` builds the configuration with fresh weights (as `from_config`; no weight file needed). */
  weights?: null;
  /** Hub ids: download options (cache folder, progress, offline). */
  download?: Pick<DownloadOptions, 'cacheDir' | 'progress' | 'offline' | 'timeoutMs' | 'idleTimeoutMs'>;
  /** Hub ids: the server (default `HF_ENDPOINT`, else https://huggingface.co). */
  endpoint?: string;
  /** Hub ids: branch, tag or commit (default `'main'`). */
  revision?: string;
}

/** A JSON object from `file`: E_IO_FORMAT naming the file when it is not JSON or not an object. */
function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TransferKitError('E_IO_NOT_FOUND', `Cannot read ${file}: ${(err as Error).message}.`, { cause: err });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new TransferKitError('E_IO_FORMAT', `${file} is not valid JSON: ${(err as Error).message}. Expected a JSON object; download or write the file again.`, { cause: err });
  }
  checkJsonDepth(v, file);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    const shown = shortJson(v);
    throw new TransferKitError('E_IO_FORMAT', `${file} holds ${shown.length > 60 ? `${shown.slice(0, 60)}...` : shown}, not a JSON object. Expected a JSON object of settings; download or write the file again.`);
  }
  return v as Record<string, unknown>;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;

/** Downloads a Hub repository's files into the cache; returns the local folder. */
async function fetchHubRepo(id: string, options: LoadTextModelOptions): Promise<string> {
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, '');
  const revision = options.revision ?? 'main';
  // The revision names a folder of the cache: it may have '/' (refs/pr/1) but must stay inside.
  const dir = resolveInside(path.join(options.download?.cacheDir ?? defaultCacheDir(), 'hf'), path.join(id.replace('/', '--'), revision), `Hub id '${id}' at revision '${revision}'`);
  const get = async (file: string, required: boolean): Promise<boolean> => {
    try {
      await cachedDownload(`${endpoint}/${id}/resolve/${revision}/${file}`, { ...options.download, cacheDir: path.join(dir, path.dirname(file)), fileName: path.basename(file) });
      return true;
    } catch (err) {
      const msg = (err as Error).message;
      if (!required && /HTTP 404|not in the cache/.test(msg)) return false;
      throw err;
    }
  };
  await get('config.json', true);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) await get(f, false);
  if (options.weights === null) return dir;
  // As from_pretrained: safetensors first, then PyTorch's pickled weights; single files, then shards.
  for (const [file, indexFile] of WEIGHT_FILES) {
    if (await get(file, false)) return dir;
    if (await get(indexFile, false)) {
      // Shard names come from a downloaded file: each must stay inside the model folder (checked
      // before any is requested, so a hostile index cannot make the cache write elsewhere).
      for (const { shard } of readShardIndex(path.join(dir, indexFile))) await get(shard, true);
      return dir;
    }
  }
  throw new TransferKitError('E_WEIGHTS_UNAVAILABLE', `${id}: the repository has none of ${WEIGHT_FILES.flat().join(', ')} at revision ${revision}.`);
}

/**
 * The tokenizer of a folder, if it has one. Malformed files end in coded errors naming the file
 * (E_IO_FORMAT; E_LIMIT for a vocabulary over `maxVocabSize`).
 */
export function loadTokenizer(dir: string): TextTokenizer | undefined {
  const configFile = path.join(dir, 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? readJson(configFile) : {};
  const jsonFile = path.join(dir, 'tokenizer.json');
  if (fs.existsSync(jsonFile)) return tokenizerFromFiles(readJson(jsonFile), config, { json: jsonFile, config: configFile });
  const vocabFile = path.join(dir, 'vocab.txt');
  if (!fs.existsSync(vocabFile)) return undefined;
  const str = (k: string): string | undefined => (typeof config[k] === 'string' ? (config[k] as string) : undefined);
  const bool = (k: string): boolean | undefined => {
    const v = config[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new TransferKitError('E_IO_FORMAT', `${configFile}: "${k}" must be true or false. Received: ${k}=${JSON.stringify(v)}.`);
    return v;
  };
  const stripAccents = bool('strip_accents');
  const chinese = bool('tokenize_chinese_chars');
  return tokenizerFromVocab(parseVocab(fs.readFileSync(vocabFile, 'utf8'), vocabFile), {
    doLowerCase: bool('do_lower_case') ?? true,
    ...(config.strip_accents !== undefined ? { stripAccents: stripAccents ?? null } : {}),
    ...(chinese !== undefined ? { tokenizeChineseChars: chinese } : {}),
    ...(config.model_max_length !== undefined ? { modelMaxLength: config.model_max_length } : {}),
    ...(str('unk_token') ? { unkToken: str('unk_token') } : {}),
    ...(str('sep_token') ? { sepToken: str('sep_token') } : {}),
    ...(str('pad_token') ? { padToken: str('pad_token') } : {}),
    ...(str('cls_token') ? { clsToken: str('cls_token') } : {}),
    ...(str('mask_token') ? { maskToken: str('mask_token') } : {}),
  }, { json: vocabFile, config: configFile });
}

/**
 * Loads a BERT-family model from a local Hugging Face folder or a Hub id.
 * @example
 * ```ts
 * const tm = await loadTextModel('./bert-tiny', { task: 'sequence-classification', numLabels: 2 });
 * const batch = tm.tokenizer!.batch(['a fine film'], { maxLength: 128 });
 * ```
 */
export async function loadTextModel(source: string, options: LoadTextModelOptions = {}): Promise<TextModel> {
  await ensureBackend();
  let dir = source.replace(/^file:\/\//, '');
  // A save killed inside its folder swap leaves no folder at the path for a moment: restore it.
  await settleFolder(dir);
  if (!fs.existsSync(dir)) {
    if (!HUB_ID.test(source)) throw new TransferKitError('E_IO_NOT_FOUND', `No folder at ${dir}, and '${source}' is not a Hub id (org/name). Pass a Hugging Face model folder (config.json + model.safetensors) or a Hub id.`);
    dir = await fetchHubRepo(source, options);
  }
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) throw new TransferKitError('E_IO_NOT_FOUND', `${dir} has no config.json. A Hugging Face model folder holds config.json, model.safetensors and tokenizer files.`);
  const config = parseTextConfig(readJson(configFile), configFile);
  // The tokenizer first: a damaged tokenizer file then fails before any weight exists.
  const tokenizer = loadTokenizer(dir);
  const tm = buildTextModel(config, { ...options, source });
  if (tokenizer !== undefined) tm.tokenizer = tokenizer;
  if (options.weights === null) return tm;
  const weightsFile = WEIGHT_FILES.flat().map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (weightsFile === undefined) {
    tm.model.dispose();
    throw new TransferKitError('E_WEIGHTS_UNAVAILABLE', `${dir} has none of ${WEIGHT_FILES.flat().join(', ')}. Pass weights: null to build the configuration with fresh weights.`);
  }
  try {
    tm.loadReport = loadHfWeights(tm, readWeights(weightsFile), { ...options, file: weightsFile });
  } catch (err) {
    tm.model.dispose();
    throw err;
  }
  return tm;
}
