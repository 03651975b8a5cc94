/**
 * `--model` for the CLI: a zoo id (`mobilenet_v2`, `resnet50`, ...), a TF.js layers model folder
 * or URL (including run folders' saved models), or `onnx:<folder | hub id>` for a frozen ONNX
 * encoder; new heads get the data's classes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { loadPretrained } from '../pretrained/load_pretrained_node.js';
import { replaceHead } from '../transfer/replace_head.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import type { FrozenEncoder } from '../models/frozen_encoder.js';
import { zooIds } from '../models/vision/registry.js';
import { readJsonFile } from './files.js';

/** A base ready for a new head: a TF.js model or a frozen encoder. */
export type Base = PretrainedModel | FrozenEncoder;

/**
 * Loads `--model` (see module doc); `allowDownloads` lets zoo ids / Hub ids fetch weights;
 * `featureLayer` (`--feature-layer`) names the layer the head goes on.
 */
export async function loadBase(spec: string, allowDownloads: boolean, featureLayer?: string): Promise<Base> {
  if (spec.startsWith('onnx:')) {
    if (featureLayer !== undefined) throw new TransferKitError('E_BAD_OPTION', `--feature-layer applies to TF.js models and zoo ids; an ONNX encoder gives pooled embeddings. Received: --feature-layer ${featureLayer} with --model ${spec}.`);
    return loadPretrained(spec as `onnx:${string}`, { allowDownloads });
  }
  const local = !/^https?:\/\//.test(spec) && (spec.includes('/') || spec.includes(path.sep) || fs.existsSync(spec));
  if (local && !fs.existsSync(spec)) throw new TransferKitError('E_IO_NOT_FOUND', `No model at ${spec}. Pass a zoo id (${zooIds().slice(0, 4).join(', ')}, ...; see \`transferkit models\`), a TF.js model folder, or onnx:<folder>.`);
  if (!local && !/^https?:\/\//.test(spec) && !zooIds().includes(spec)) {
    throw new TransferKitError('E_BAD_OPTION', `Unknown model id '${spec}'. Known ids: ${zooIds().join(', ')} (see \`transferkit models\`); or pass a folder, a URL, or onnx:<folder | hub id>.`);
  }
  const chosen = featureLayer !== undefined ? { featureLayer } : {};
  return loadPretrained(spec, local || /^https?:\/\//.test(spec) ? chosen : { ...chosen, download: { progress: 'silent', offline: !allowDownloads } });
}

/** A new head on `base` for `classNames`. */
export function withHead(base: Base, classNames: string[], dropout: number, seed: number): PretrainedModel {
  return replaceHead(base, { numClasses: classNames.length, classNames, dropout, seed });
}

/**
 * A trained model for `evaluate` / `predict`: a run folder of `transferkit fine-tune` (its
 * `model/`, and its frozen encoder again when the run used one) or a folder written by saveModel.
 */
export async function loadTrained(spec: string, allowDownloads: boolean): Promise<PretrainedModel> {
  const runConfig = path.join(spec, 'config.json');
  const modelDir = fs.existsSync(path.join(spec, 'model', 'model.json')) ? path.join(spec, 'model') : spec;
  if (!fs.existsSync(path.join(modelDir, 'model.json'))) {
    throw new TransferKitError('E_IO_NOT_FOUND', `${spec} holds no trained model (model.json or model/model.json). Pass a run folder of \`transferkit fine-tune\` or a folder written by saveModel.`);
  }
  const pm = await loadPretrained(modelDir);
  if (fs.existsSync(runConfig)) {
    const stored = readJsonFile(runConfig, 'run configuration', 'It is written by `transferkit fine-tune`; restore it from that run, or pass the model folder itself (--model <run>/model).', '--model');
    const cfg = typeof stored === 'object' && stored !== null ? (stored as { config?: { model?: unknown } }).config : undefined;
    if (typeof cfg?.model === 'string' && cfg.model.startsWith('onnx:')) {
      // The run trained a head on a frozen ONNX encoder: reattach the encoder.
      pm.encoder = await loadPretrained(cfg.model as `onnx:${string}`, { allowDownloads });
    }
  }
  if (pm.classNames === undefined) throw new TransferKitError('E_IO_BAD_MANIFEST', `${modelDir} carries no class names; save it with saveModel (or transferkit fine-tune) to evaluate it here.`);
  return pm;
}
