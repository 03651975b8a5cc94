/**
 * `loadPretrained`: a TF.js layers model from a folder, a model.json path or an http(s) URL,
 * flattened so every backbone layer is addressable, with its preprocessing and feature layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { flattenTopology } from '../io/flatten_topology.js';
import { httpLoader } from '../io/http.js';
import { prepareModel } from '../layers/prepare_model.js';
import { buildZooModel, closeZooIds, pretrainedConfig, type PretrainedConfig } from '../models/vision/registry.js';
import { IMAGENET_CLASSES } from '../models/vision/imagenet_classes.js';
import type { DownloadOptions } from '../io/download.js';
import { parseJsonFile } from '../utils/json.js';
import type { HeadTask, PretrainedModel, Preprocessing } from '../models/pretrained_model.js';
import { ensureBackend } from '../backends/backend.js';
import { checkOptionKeys, optionNames } from '../utils/option_keys.js';

/** Options of {@link loadPretrained}. */
export interface LoadPretrainedOptions {
  /** Override the feature layer (default: the last layer before the trailing Dense/Dropout/Activation head). */
  featureLayer?: string;
  /** Override the preprocessing (default: from Teachable Machine metadata, else MobileNet's [-1, 1]). */
  preprocessing?: Omit<Preprocessing, 'source'>;
  /** Class names of the existing head (default: from metadata.json `labels` when present). */
  classNames?: string[];
  /**
   * A different input size [H, W, C] for a fully-convolutional backbone (as Keras applications'
   * `input_shape` with pretrained weights), e.g. [96, 96, 3] for MobileNetV2 saved at 224.
   */
  inputShape?: number[];
  /**
   * Keep the graph only up to this layer (inclusive) and make it the feature layer: the original
   * head is dropped before the model is built, as Keras' `include_top=False`. Needed when the
   * head cannot be built at another `inputShape` (pooling windows, Flatten).
   */
  cutAt?: string;
  /**
   * Zoo ids only (`'resnet50'`, `'mobilenet_v2_0.35_224'`, ...): `'imagenet'` (default) fetches the
   * published weights into the cache (checksum-verified; `TRANSFERKIT_OFFLINE=1` says where to put
   * the file instead), a path loads a local `.h5`, `.keras`, `.safetensors` or PyTorch `.pth` / `.pt` /
   * `.bin` file (a `torch.save` checkpoint, read without running its pickle; a checkpoint with the
   * top also serves `includeTop: false`) or a TFLite `.tflite` file (or a folder holding one:
   * float32, float16 and int8/uint8 per-tensor or per-channel quantized weights, dequantized;
   * the converter's folded BatchNorm becomes identity statistics plus the folded shift, so keep
   * BatchNorm frozen when fine-tuning), and `null` builds the architecture with fresh random
   * weights, as Keras' `weights=None` (no files needed).
   */
  weights?: null | 'imagenet' | string;
  /** Zoo ids only: download options (cache folder, progress). */
  download?: Pick<DownloadOptions, 'cacheDir' | 'progress' | 'offline' | 'timeoutMs' | 'idleTimeoutMs'>;
  /** Zoo ids with `weights: null`: seed of the fresh weights (same seed, same weights; default unseeded). */
  seed?: number;
  /** Zoo ids only: keep the ImageNet classifier (default false: the convolutional base, features pooled by the head you add). */
  includeTop?: boolean;
  /**
   * `'image'` (the only value this loader takes) says so explicitly; the Node entry's
   * `loadPretrained` also takes `'text'` (a BERT-family Hugging Face model) and `'auto'`.
   */
  modality?: 'image';
}

const HEAD_CLASSES = new Set(['Dense', 'Dropout', 'Activation', 'Softmax', 'Flatten']);
/** What a classifier ends with after its last weighted layer (reshapes around a conv classifier too). */
const CLASSIFIER_TAIL = new Set([...HEAD_CLASSES, 'Reshape']);
const GLOBAL_POOL_CLASSES = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']);

interface SourceHandle {
  handler: tf.io.IOHandler;
  readMetadata: () => Promise<Record<string, unknown> | null>;
}

async function resolveSource(source: string): Promise<SourceHandle> {
  if (/^https?:\/\//.test(source)) {
    const jsonUrl = source.endsWith('.json') ? source : `${source.replace(/\/$/, '')}/model.json`;
    return {
      handler: httpLoader(jsonUrl),
      readMetadata: async () => {
        try {
          const res = await fetch(new URL('metadata.json', jsonUrl));
          return res.ok ? ((await res.json()) as Record<string, unknown>) : null;
        } catch {
          return null;
        }
      },
    };
  }
  // Node-only modules load lazily so a browser bundle that only uses URLs never touches them.
  const { fileSystem } = await import('../io/file_system.js');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const local = source.replace(/^file:\/\//, '');
  const dir = local.endsWith('.json') ? path.dirname(local) : local;
  // A save killed inside its folder swap leaves no folder at the path for a moment: restore it.
  await (await import('../io/_atomic.js')).settleFolder(dir);
  if (!fs.existsSync(local)) {
    // A bare name that is no folder was probably meant as a zoo id: name the close ones.
    const bare = !/[/\\]/.test(source);
    const near = bare ? closeZooIds(source).slice(0, 6) : [];
    const zooHint = bare ? ` '${source}' is not a zoo id either${near.length > 0 ? ` (close: ${near.join(', ')})` : ''}; \`npx transferkit models\` lists them all.` : '';
    throw new TransferKitError('E_IO_NOT_FOUND', `No model at ${local}. Pass a zoo id (e.g. mobilenet_v2_1.0_224, resnet50), a TF.js layers model folder (holding model.json), a model.json path or an http(s) URL.${zooHint}`);
  }
  if (!local.endsWith('.json') && !fs.existsSync(path.join(local, 'model.json')) && fs.existsSync(path.join(local, 'config.json'))) {
    throw new TransferKitError('E_BAD_OPTION', `${local} holds a Hugging Face config.json, not a TF.js model.json. For BERT-family text models pass the modality: loadPretrained('${local}', { modality: 'text' }) (or { modality: 'auto' } to tell from the folder).`);
  }
  return {
    handler: fileSystem(local),
    readMetadata: async () => {
      const p = path.join(dir, 'metadata.json');
      if (!fs.existsSync(p)) return null;
      const meta = parseJsonFile(fs.readFileSync(p, 'utf8'), p, 'E_IO_BAD_MANIFEST');
      if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
        throw new TransferKitError('E_IO_BAD_MANIFEST', `${p} is not a JSON object. Fix or delete metadata.json (it only carries labels and preprocessing hints).`);
      }
      return meta as Record<string, unknown>;
    },
  };
}

type LayerJson = { class_name: string; name?: string; config: Record<string, unknown>; inbound_nodes?: [string, number, number, unknown?][][] };

function cutTopology(topology: Record<string, unknown>, cutAt: string, source: string): void {
  const config = topology.config as { layers: LayerJson[]; output_layers: unknown[] };
  const nameOf = (l: LayerJson) => l.name ?? (l.config.name as string);
  const byName = new Map(config.layers.map((l) => [nameOf(l), l]));
  if (!byName.has(cutAt)) {
    throw new TransferKitError('E_LAYER_NOT_FOUND', `cutAt: no layer named '${cutAt}' in ${source}. Last layers: ${config.layers.slice(-6).map(nameOf).join(', ')}.`);
  }
  const keep = new Set<string>();
  const stack = [cutAt];
  while (stack.length > 0) {
    const n = stack.pop() as string;
    if (keep.has(n)) continue;
    keep.add(n);
    for (const node of byName.get(n)?.inbound_nodes ?? []) for (const ref of node) stack.push(ref[0]);
  }
  config.layers = config.layers.filter((l) => keep.has(nameOf(l)));
  config.output_layers = [[cutAt, 0, 0]];
}

/** What saveModel() wrote into model.json, checked field by field (the file may be edited or hostile). */
interface SavedMetadata {
  classNames: string[] | null;
  preprocessing: Preprocessing;
  featureLayer: string | undefined;
  task?: HeadTask;
}

function savedMetadata(raw: unknown, source: string): SavedMetadata | null {
  if (raw === undefined || raw === null) return null;
  const bad = (field: string, value: unknown, want: string): never => {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${source}: model.json's userDefinedMetadata.transferkit.${field} is not ${want}. Received: ${field}=${JSON.stringify(value)?.slice(0, 80)}. The file was edited or damaged; fix the field or save the model again.`);
  };
  if (typeof raw !== 'object' || Array.isArray(raw)) bad('', raw, 'an object');
  const m = raw as Record<string, unknown>;
  const names = m.classNames;
  if (names !== null && names !== undefined && !(Array.isArray(names) && names.every((n) => typeof n === 'string'))) bad('classNames', names, 'a list of strings');
  const finite = (v: unknown) => (typeof v === 'number' && Number.isFinite(v)) || (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x)));
  const pre = m.preprocessing as Record<string, unknown> | undefined;
  if (typeof pre !== 'object' || pre === null || !finite(pre.scale) || !finite(pre.offset)) bad('preprocessing', pre, '{ scale, offset } with finite numbers (or 3 of them)');
  if (m.featureLayer !== undefined && typeof m.featureLayer !== 'string') bad('featureLayer', m.featureLayer, 'a layer name');
  if (m.task !== undefined && !['multiclass', 'multilabel', 'regression'].includes(m.task as string)) bad('task', m.task, "'multiclass', 'multilabel' or 'regression'");
  const p = pre as { scale: Preprocessing['scale']; offset: Preprocessing['offset']; source?: unknown };
  return {
    classNames: (names as string[] | null | undefined) ?? null,
    preprocessing: { scale: p.scale, offset: p.offset, source: typeof p.source === 'string' ? p.source : 'saved with the model' },
    featureLayer: m.featureLayer as string | undefined,
    ...(m.task !== undefined ? { task: m.task as HeadTask } : {}),
  };
}

function checkAllWeightsLoaded(model: tfl.LayersModel, artifacts: tf.io.ModelArtifacts, source: string): void {
  const have = new Set((artifacts.weightSpecs ?? []).map((w) => w.name));
  const missing = model.weights.map((w) => w.originalName).filter((n) => !have.has(n));
  if (missing.length > 0) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${source}: the manifest has no values for ${missing.length} weight(s) of the kept graph, e.g. ${missing.slice(0, 3).join(', ')}.`);
  }
}

function setInputShape(topology: Record<string, unknown>, shape: number[], source: string): void {
  const layers = (topology.config as { layers: { class_name: string; config: Record<string, unknown> }[] }).layers;
  const inputs = layers.filter((l) => l.class_name === 'InputLayer');
  if (inputs.length !== 1) {
    throw new TransferKitError('E_BAD_OPTION', `inputShape can only be overridden for single-input models; ${source} has ${inputs.length} inputs.`);
  }
  const old = inputs[0].config.batch_input_shape as (number | null)[];
  if (!Array.isArray(old) || old.length !== shape.length + 1 || old[old.length - 1] !== shape[shape.length - 1]) {
    throw new TransferKitError('E_BAD_OPTION', `inputShape must keep the rank and channel count of the saved input. Received: inputShape=[${shape.join(', ')}]; saved input: [${(old ?? []).slice(1).join(', ')}].`);
  }
  inputs[0].config.batch_input_shape = [null, ...shape];
}

function findFeatureLayer(model: tfl.LayersModel, override?: string): { feature: string; head: string[] } {
  const layers = model.layers;
  if (override !== undefined) {
    const idx = layers.findIndex((l) => l.name === override);
    if (idx < 0) {
      throw new TransferKitError('E_LAYER_NOT_FOUND', `No layer named '${override}' (featureLayer). Received: featureLayer=${override}. Some layer names: ${layers.slice(-8).map((l) => l.name).join(', ')}.`);
    }
    return { feature: override, head: layers.slice(idx + 1).map((l) => l.name) };
  }
  let i = layers.length - 1;
  while (i > 0 && CLASSIFIER_TAIL.has(layers[i].getClassName())) i--;
  const behind = convClassifierInput(model, layers[i]);
  if (behind !== null) i = layers.indexOf(behind);
  return { feature: layers[i].name, head: layers.slice(i + 1).map((l) => l.name) };
}

/** A copy of `topology` whose layer initialisers are all zeros (weights are loaded over them). */
function withZeroInitializers(topology: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(topology), (key, value: unknown) =>
    key.endsWith('_initializer') && typeof value === 'object' && value !== null && 'class_name' in value ? { class_name: 'Zeros', config: {} } : value,
  ) as Record<string, unknown>;
}

/** The one layer feeding `layer` (null for inputs and merges). */
function inputOf(layer: tfl.layers.Layer): tfl.layers.Layer | null {
  const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
  return inbound.length === 1 ? (inbound[0] as tfl.layers.Layer) : null;
}

/**
 * When `layer` closes a convolutional classifier — a 1×1 convolution with one filter per output
 * class, applied to pooled features (tfjs-models' MobileNet v1: pool → reshape → dropout → conv →
 * reshape → softmax) or pooled after it (Darknet: conv → global average pool) — the layer that
 * feeds the classifier: its output is class scores, and a probe on them trains on ImageNet
 * probabilities instead of features. Null otherwise.
 */
function convClassifierInput(model: tfl.LayersModel, layer: tfl.layers.Layer): tfl.layers.Layer | null {
  const classes = model.outputs[0].shape.at(-1);
  const isClassifierConv = (l: tfl.layers.Layer | null): l is tfl.layers.Layer => {
    if (l === null || l.getClassName() !== 'Conv2D') return false;
    const c = l.getConfig() as { filters?: number; kernelSize?: number | number[] };
    const k = Array.isArray(c.kernelSize) ? c.kernelSize : [c.kernelSize, c.kernelSize];
    return c.filters === classes && k.every((d) => d === 1);
  };
  let conv: tfl.layers.Layer | null = null;
  if (GLOBAL_POOL_CLASSES.has(layer.getClassName()) && isClassifierConv(inputOf(layer))) conv = inputOf(layer);
  else if (isClassifierConv(layer) && (layer.outputShape as number[]).slice(1, 3).every((d) => d === 1)) conv = layer;
  if (conv === null) return null;
  let feed = inputOf(conv);
  while (feed !== null && CLASSIFIER_TAIL.has(feed.getClassName())) feed = inputOf(feed);
  return feed;
}

function preprocessingFrom(meta: Record<string, unknown> | null, opt?: Omit<Preprocessing, 'source'>): Preprocessing {
  if (opt !== undefined) return { ...opt, source: 'option' };
  if (meta !== null && String(meta.packageName ?? '').startsWith('@teachablemachine/')) {
    return { scale: 1 / 127.5, offset: -1, source: 'metadata.json (Teachable Machine: inputs in [-1, 1])' };
  }
  return { scale: 1 / 127.5, offset: -1, source: 'default (Keras MobileNet convention: inputs in [-1, 1]); pass options.preprocessing if the weights expect another range' };
}

/** Every option name of {@link LoadPretrainedOptions}: others are refused. */
const LOAD_PRETRAINED_OPTIONS = optionNames<LoadPretrainedOptions>({ featureLayer: true, preprocessing: true, classNames: true, inputShape: true, cutAt: true, weights: true, download: true, seed: true, includeTop: true, modality: true });

/**
 * Loads a pretrained TF.js layers model and prepares it for transfer learning.
 *
 * Nested models are inlined (Teachable Machine nests MobileNetV2 as layer `model2`), so
 * `model.getLayer('block_13_expand')` works; BatchNorm layers follow Keras' rule (a frozen BN
 * layer runs in inference mode).
 *
 * @param source - a folder holding model.json, a model.json path, or an http(s) URL.
 * @example
 * ```ts
 * const base = await loadPretrained('../shared/models/mobilenet_v2_0.35_224_teachable');
 * base.model.getLayer('block_16_project'); // addressable by its Keras name
 * ```
 */
export async function loadPretrained(source: string, options: LoadPretrainedOptions = {}): Promise<PretrainedModel> {
  checkOptionKeys('loadPretrained', options, LOAD_PRETRAINED_OPTIONS);
  if (options.modality !== undefined && options.modality !== 'image') {
    throw new TransferKitError('E_BAD_OPTION', `loadPretrained: modality '${String(options.modality)}' is not one this entry loads; 'transferkit/browser' loads TF.js layers models (modality 'image'). Text models and 'auto' load through the Node entry ('transferkit').`);
  }
  await ensureBackend();
  if (source.startsWith('onnx:')) {
    throw new TransferKitError('E_NOT_IMPLEMENTED', `loadPretrained('${source}'): ONNX encoders load through the Node entry ('transferkit'), not 'transferkit/browser'. In a browser, run transformers.js yourself and wrap it as a FrozenEncoder.`);
  }
  const zoo = pretrainedConfig(source);
  if (zoo !== null && !/[/\\]/.test(source)) return await loadZooModel(zoo, options);
  const { handler, readMetadata } = await resolveSource(source);
  const artifacts = await (handler.load as () => Promise<tf.io.ModelArtifacts>)();
  const topology = flattenTopology(artifacts.modelTopology as Record<string, unknown>, source);
  if (options.cutAt !== undefined) cutTopology(topology, options.cutAt, source);
  if (options.inputShape !== undefined) setInputShape(topology, options.inputShape, source);
  // A model saved by saveModel() carries its own transfer metadata.
  const saved = savedMetadata(artifacts.userDefinedMetadata?.transferkit, source);
  let model: tfl.LayersModel | undefined;
  // A topology that fails half-way through building has created the variables of the layers
  // before the fault; nothing else holds them, so they are freed here (no leak per bad file).
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  try {
    // The weights are decoded and copied here rather than by tfl.loadLayersModel: when a damaged
    // file's weights do not fit its topology, TF.js throws from loadWeights and never frees the
    // tensors it decoded (one model's worth per bad file). The graph is built with every
    // initialiser set to zeros, as TF.js itself does when weights follow (`fastWeightInit`):
    // Orthogonal (LSTM/GRU) initialisers take minutes, and the values are overwritten anyway.
    // trainingConfig is left out: compiling would build a Keras optimizer (and its tensors) that
    // transferkit never uses; its own loop brings the optimizer.
    const { weightData, weightSpecs, trainingConfig: _training, ...rest } = artifacts;
    void _training;
    model = await tfl.loadLayersModel(tf.io.fromMemory({ ...rest, modelTopology: weightData !== undefined ? withZeroInitializers(topology) : topology }));
    if (weightData !== undefined) {
      // Optimizer slots saved with `includeOptimizer` are not model weights (TF.js's loader skips them too).
      const specs = weightSpecs ?? [];
      const values = tf.io.decodeWeights(weightData, specs);
      const optimizerNames = new Set(specs.filter((w) => w.group === 'optimizer').map((w) => w.name));
      try {
        // Weights of a dropped head are ignored (strict: false); checkAllWeightsLoaded below makes
        // sure that nothing the kept graph needs was missing.
        model.loadWeights(Object.fromEntries(Object.entries(values).filter(([name]) => !optimizerNames.has(name))), options.cutAt === undefined);
      } finally {
        tf.dispose(Object.values(values));
      }
    }
  } catch (err) {
    // Built: the model holds all its variables. Not built: those made before the fault are freed.
    if (model !== undefined) model.dispose();
    else for (const [name, v] of Object.entries(tf.engine().registeredVariables)) if (!before.has(name)) v.dispose();
    const msg = (err as Error).message;
    const unknown = /Unknown layer: (\w+)/.exec(msg);
    if (unknown !== null) {
      throw new TransferKitError('E_IO_UNKNOWN_LAYER', `${source}: unknown layer class '${unknown[1]}'. Register it with tf.serialization.registerClass before loading, or re-export the model with built-in layers.`, { cause: err });
    }
    const hint = options.inputShape !== undefined ? ' The inputShape override may not suit this model (layers after a Flatten or Reshape fix the size).' : '';
    throw new TransferKitError('E_MODEL_TOPOLOGY', `${source}: the model could not be built from its topology: ${msg}.${hint}`, { cause: err });
  }
  let meta: Record<string, unknown> | null;
  let found: ReturnType<typeof findFeatureLayer>;
  try {
    if (options.cutAt !== undefined) checkAllWeightsLoaded(model, artifacts, source);
    prepareModel(model);
    meta = await readMetadata();
    found = findFeatureLayer(model, options.featureLayer ?? options.cutAt ?? saved?.featureLayer);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const { feature, head } = found;
  const inputShape = (model.inputs[0].shape as (number | null)[]).slice(1).map((d) => d ?? -1);
  const metaLabels = meta?.labels;
  const labels = options.classNames ?? saved?.classNames ?? (Array.isArray(metaLabels) && metaLabels.every((l) => typeof l === 'string') ? metaLabels : undefined);
  return {
    model,
    inputShape,
    preprocessing: options.preprocessing === undefined && saved !== null ? saved.preprocessing : preprocessingFrom(meta, options.preprocessing),
    featureLayer: feature,
    headLayers: head,
    classNames: labels,
    ...(saved?.task !== undefined ? { task: saved.task } : {}),
    source,
  };
}

/** A zoo architecture by id, with fresh weights, a local weights file, or the published ImageNet weights. */
async function loadZooModel(config: PretrainedConfig, options: LoadPretrainedOptions): Promise<PretrainedModel> {
  const includeTop = options.includeTop ?? false;
  const inputShape = (options.inputShape as [number, number, number] | undefined) ?? config.inputSize;
  const { model } = buildZooModel(config.id, { includeTop, inputShape, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  let weightsFile: string | null = null;
  if (options.weights === undefined || options.weights === 'imagenet') {
    // A checkpoint with the top serves a model without it too: its classifier entries are dropped
    // (Keras publishes separate no-top files; torchvision and timm publish only full ones).
    const readable = config.sources.filter((s) => s.format !== 'tfjs-layers');
    const src = readable.find((s) => s.includeTop === includeTop) ?? (includeTop ? undefined : readable.find((s) => s.format !== 'keras-h5'));
    if (src === undefined) {
      model.dispose();
      const all = config.sources.map((s) => `${s.url} (${s.format}${s.includeTop ? '' : ', no top'})`).join('; ');
      throw new TransferKitError('E_WEIGHTS_UNAVAILABLE', `'${config.id}' has no published ${includeTop ? 'full' : 'no-top'} weights in a format transferkit reads (.h5, .safetensors, .pth). Known sources: ${all}. Pass { weights: null } for random weights, or { includeTop: ${!includeTop} }.`);
    }
    const { cachedDownload } = await import('../io/download.js');
    weightsFile = await cachedDownload(src.url, { ...options.download, ...(src.md5 ? { md5: src.md5 } : {}), ...(src.sha256Prefix ? { sha256Prefix: src.sha256Prefix } : {}) });
  } else if (options.weights !== null) weightsFile = options.weights;
  if (weightsFile !== null) {
    try {
      // Weight-file readers use node:fs; imported on demand so browser bundles stay free of them.
      const tflite = await import('../io/tflite_file.js');
      if (tflite.isTfliteSource(weightsFile)) {
        // A full TFLite export serves a model without its top too: the top of every Keras zoo
        // architecture is its dense layers (VGG's fc1, fc2, predictions; the others' predictions),
        // which no no-top model has, so only those ops are skipped.
        const own = new Set(model.layers.map((l) => l.name));
        tflite.loadTfliteWeights(model, weightsFile, { dropLayers: (layer, op) => !includeTop && op === 'FULLY_CONNECTED' && !own.has(layer) });
      } else if (/\.(safetensors|index\.json|pth|pt|bin)$/.test(weightsFile)) {
        const [{ readSafetensors }, { readTorchCheckpoint }, { loadTorchStateDict }] = await Promise.all([
          import('../io/safetensors.js'), import('../io/torch_pth.js'), import('../io/torch_state_dict.js'),
        ]);
        const stateDict = /\.(safetensors|index\.json)$/.test(weightsFile) ? readSafetensors(weightsFile) : readTorchCheckpoint(weightsFile);
        if (!includeTop) for (const k of [...stateDict.keys()]) if (k.startsWith(`${config.classifier}.`)) stateDict.delete(k);
        loadTorchStateDict(model, stateDict, { strict: true });
      } else {
        // A full Keras file serves a model without its top too: the layers of the top (VGG's fc1,
        // fc2 and predictions; the others' predictions) are the file's layers the model lacks.
        const own = new Set(model.layers.map((l) => l.name));
        const dropLayers = (layer: string) => !includeTop && !own.has(layer);
        if (weightsFile.endsWith('.keras')) await (await import('../io/keras_archive.js')).loadKerasArchive(model, weightsFile, { dropLayers });
        else await (await import('../io/keras_h5.js')).loadKerasH5(model, weightsFile, { dropLayers });
      }
    } catch (err) {
      model.dispose();
      throw err;
    }
  }
  prepareModel(model);
  const feature = options.featureLayer ?? config.featureLayer;
  const at = model.layers.findIndex((l) => l.name === feature);
  if (at < 0) throw new TransferKitError('E_LAYER_NOT_FOUND', `'${config.id}' has no layer named '${feature}'. Received: featureLayer=${feature}.`);
  return {
    model,
    inputShape,
    preprocessing: options.preprocessing !== undefined ? { ...options.preprocessing, source: 'option' } : config.preprocessing,
    featureLayer: feature,
    headLayers: model.layers.slice(at + 1).map((l) => l.name),
    ...(options.classNames !== undefined ? { classNames: options.classNames } : includeTop && config.numClasses === 1000 ? { classNames: [...IMAGENET_CLASSES] } : {}),
    source: `zoo:${config.id} (${weightsFile ?? 'random weights'})`,
  };
}
