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
import { cachedDownload, defaultCacheDir, type DownloadOptions } from '../../io/download.js';
import { readSafetensors } from '../../io/safetensors.js';
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
  const index = readJson(file) as { weight_map?: Record<string, string> };
  const out = new Map<string, SafeTensor>();
  for (const shard of new Set(Object.values(index.weight_map ?? {}))) for (const [k, v] of readTorchCheckpoint(path.join(path.dirname(file), shard))) out.set(k, v);
  return out;
}
import { loadHfWeights } from './hf_weights.js';
import { parseVocab } from '../../data/text/wordpiece_json.js';
import { TextTokenizer } from '../../data/text/tokenizer.js';
import { buildTextModel, parseTextConfig } from './build_text_model.js';
import type { TextModel, TextModelOptions } from './text_model.js';
import type { HfWeightsOptions } from './hf_weights.js';
import { ensureBackend } from '../../backends/backend.js';

/** Options of {@link loadTextModel}. */
export interface LoadTextModelOptions extends TextModelOptions, HfWeightsOptions {
  /** `null` builds the configuration with fresh weights (as `from_config`; no weight file needed). */
  weights?: null;
  /** Hub ids: download options (cache folder, progress, offline). */
  download?: Pick<DownloadOptions, 'cacheDir' | 'progress' | 'offline'>;
  /** Hub ids: the server (default `HF_ENDPOINT`, else https://huggingface.co). */
  endpoint?: string;
  /** Hub ids: branch, tag or commit (default `'main'`). */
  revision?: string;
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: ${(err as Error).message}. Expected a JSON object.`, { cause: err });
  }
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;

/** Downloads a Hub repository's files into the cache; returns the local folder. */
async function fetchHubRepo(id: string, options: LoadTextModelOptions): Promise<string> {
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, '');
  const revision = options.revision ?? 'main';
  const dir = path.join(options.download?.cacheDir ?? defaultCacheDir(), 'hf', id.replace('/', '--'), revision);
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
      const index = readJson(path.join(dir, indexFile)) as { weight_map?: Record<string, string> };
      for (const shard of new Set(Object.values(index.weight_map ?? {}))) await get(shard, true);
      return dir;
    }
  }
  throw new TransferKitError('E_WEIGHTS_UNAVAILABLE', `${id}: the repository has none of ${WEIGHT_FILES.flat().join(', ')} at revision ${revision}.`);
}

/** The tokenizer of a folder, if it has one. */
export function loadTokenizer(dir: string): TextTokenizer | undefined {
  const configFile = path.join(dir, 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? readJson(configFile) : {};
  const jsonFile = path.join(dir, 'tokenizer.json');
  if (fs.existsSync(jsonFile)) return new TextTokenizer(readJson(jsonFile), config);
  const vocabFile = path.join(dir, 'vocab.txt');
  if (!fs.existsSync(vocabFile)) return undefined;
  const str = (k: string): string | undefined => (typeof config[k] === 'string' ? (config[k] as string) : undefined);
  return TextTokenizer.fromVocab(parseVocab(fs.readFileSync(vocabFile, 'utf8'), vocabFile), {
    doLowerCase: config.do_lower_case === undefined ? true : config.do_lower_case === true,
    ...(config.strip_accents !== undefined ? { stripAccents: config.strip_accents as boolean | null } : {}),
    ...(config.tokenize_chinese_chars !== undefined ? { tokenizeChineseChars: config.tokenize_chinese_chars === true } : {}),
    ...(typeof config.model_max_length === 'number' && config.model_max_length < 1e6 ? { modelMaxLength: config.model_max_length } : {}),
    ...(str('unk_token') ? { unkToken: str('unk_token') } : {}),
    ...(str('sep_token') ? { sepToken: str('sep_token') } : {}),
    ...(str('pad_token') ? { padToken: str('pad_token') } : {}),
    ...(str('cls_token') ? { clsToken: str('cls_token') } : {}),
    ...(str('mask_token') ? { maskToken: str('mask_token') } : {}),
  });
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
  if (!fs.existsSync(dir)) {
    if (!HUB_ID.test(source)) throw new TransferKitError('E_IO_NOT_FOUND', `No folder at ${dir}, and '${source}' is not a Hub id (org/name). Pass a Hugging Face model folder (config.json + model.safetensors) or a Hub id.`);
    dir = await fetchHubRepo(source, options);
  }
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) throw new TransferKitError('E_IO_NOT_FOUND', `${dir} has no config.json. A Hugging Face model folder holds config.json, model.safetensors and tokenizer files.`);
  const config = parseTextConfig(readJson(configFile), configFile);
  const tm = buildTextModel(config, { ...options, source });
  const tokenizer = loadTokenizer(dir);
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
