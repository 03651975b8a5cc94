/**
 * Builds a BERT-family model from its `config.json` (randomly initialised as HF `_init_weights`;
 * `loadTextModel` then fills in checkpoint weights). Picks the family by `model_type` and the head
 * by the option or the checkpoint's `architectures`.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../../errors.js';
import { checkLimit } from '../../utils/limits.js';
import { checkConfigObject } from './bert/config.js';
import type { HeadTask } from '../pretrained_model.js';
import { buildEncoder, hfDense, seedStream, type TextInputs } from './encoder.js';
import { MaskedMeanPooling } from './layers/pooling.js';
import { textFamily } from './registry.js';
import type { TextConfig, TextInputName, TextModel, TextModelOptions, TextTask } from './text_model.js';

const TASKS: readonly TextTask[] = ['base', 'sequence-classification', 'token-classification', 'sentence-embedding'];

/** Parses a `config.json` object of a supported family (`model_type` bert, distilbert or roberta). */
export function parseTextConfig(json: Record<string, unknown>, file = 'config.json'): TextConfig {
  checkConfigObject(json, file);
  return textFamily(json.model_type, file).parseConfig(json, file);
}

function taskFromArchitectures(config: TextConfig): TextTask {
  const arch = config.architectures?.[0] ?? '';
  if (arch.endsWith('ForSequenceClassification')) return 'sequence-classification';
  if (arch.endsWith('ForTokenClassification')) return 'token-classification';
  return 'base';
}

/** Label names from `id2label`, ordered by id. */
function labelsOf(config: TextConfig): string[] | undefined {
  if (config.id2label === undefined) return undefined;
  return Object.entries(config.id2label)
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([, v]) => v);
}

function problemTypeOf(config: TextConfig, numLabels: number): HeadTask {
  const p = (config as unknown as { problem_type?: string }).problem_type;
  if (p === 'multi_label_classification') return 'multilabel';
  if (p === 'regression' || (p === undefined && numLabels === 1)) return 'regression';
  return 'multiclass';
}

/**
 * Builds the model a config describes, with fresh weights (as `AutoModel.from_config`).
 * @example
 * ```ts
 * const tm = buildTextModel({ model_type: 'bert', hidden_size: 128, num_hidden_layers: 2,
 *   num_attention_heads: 2, intermediate_size: 512 }, { task: 'sequence-classification', numLabels: 2 });
 * ```
 */
export function buildTextModel(config: TextConfig | Record<string, unknown>, options: TextModelOptions & { source?: string } = {}): TextModel {
  const cfg = parseTextConfig(config as Record<string, unknown>);
  const task = options.task ?? taskFromArchitectures(cfg);
  if (!TASKS.includes(task)) throw new TransferKitError('E_BAD_OPTION', `Unknown text task '${String(task)}'. Use one of: ${TASKS.join(', ')}.`);
  const configLabels = labelsOf(cfg);
  const classNames = options.classNames ?? (options.numLabels === undefined || options.numLabels === configLabels?.length ? configLabels : undefined);
  const numLabels = options.numLabels ?? classNames?.length ?? 2;
  if (!(Number.isInteger(numLabels) && numLabels >= 1)) throw new TransferKitError('E_BAD_OPTION', `numLabels must be an integer >= 1. Received: numLabels=${numLabels}.`);
  checkLimit('maxVocabSize', numLabels, 'numLabels (the classifier has one output per label)');
  if (classNames !== undefined && classNames.length !== numLabels) {
    throw new TransferKitError('E_BAD_OPTION', `classNames has ${classNames.length} names but numLabels is ${numLabels}. Pass as many names as labels.`);
  }

  const family = cfg.model_type;
  const fam = textFamily(family);
  const spec = fam.spec(cfg);
  const names = fam.names;
  const inputIds = tfl.input({ shape: [null], dtype: 'int32', name: 'input_ids' });
  const attentionMask = tfl.input({ shape: [null], dtype: 'int32', name: 'attention_mask' });
  const inputs: TextInputs = { inputIds, attentionMask };
  const inputNames: TextInputName[] = ['input_ids', 'attention_mask'];
  if (fam.tokenTypes) {
    inputs.tokenTypeIds = tfl.input({ shape: [null], dtype: 'int32', name: 'token_type_ids' });
    inputNames.push('token_type_ids');
  }
  const nextSeed = seedStream(options.seed);
  const hidden = buildEncoder(spec, names, inputs, nextSeed);
  const featureLayer = names.block(spec.numLayers - 1).outputNorm;

  let outputs: tfl.SymbolicTensor | tfl.SymbolicTensor[];
  if (task === 'base') {
    outputs = fam.pooler !== undefined && options.addPoolingLayer !== false ? [hidden, fam.pooler(hidden, cfg, nextSeed())] : hidden;
  } else if (task === 'sentence-embedding') {
    outputs = new MaskedMeanPooling({ name: 'mean_pooling' }).apply([hidden, attentionMask]) as tfl.SymbolicTensor;
  } else if (task === 'token-classification') {
    const d = tfl.layers.dropout({ rate: fam.tokenHeadDropout(cfg), name: 'dropout' }).apply(hidden) as tfl.SymbolicTensor;
    outputs = hfDense(numLabels, 'classifier', spec.initializerRange, undefined, nextSeed()).apply(d) as tfl.SymbolicTensor;
  } else {
    outputs = fam.sequenceHead(hidden, cfg, numLabels, nextSeed);
  }
  const inputList = [inputIds, attentionMask, ...(inputs.tokenTypeIds ? [inputs.tokenTypeIds] : [])];
  const model = tfl.model({ inputs: inputList, outputs, name: `${family}_${task}` });
  const fi = model.layers.findIndex((l) => l.name === featureLayer);
  const headLayers = model.layers.slice(fi + 1).filter((l) => !l.name.startsWith('pooler.')).map((l) => l.name);
  return {
    model,
    family,
    config: cfg,
    spec,
    task,
    problemType: problemTypeOf(cfg, numLabels),
    inputNames,
    featureLayer,
    headLayers,
    ...(classNames !== undefined && task !== 'base' && task !== 'sentence-embedding' ? { classNames } : {}),
    source: options.source ?? 'config',
  };
}
