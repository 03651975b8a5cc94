/**
 * `summary(model)`: what trains and what does not, per layer, as Keras' `model.summary()` with
 * trainability and the BatchNorm mode added.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ModelHandle } from '../models/pretrained_model.js';
import { batchNormMode, isBatchNorm, type BatchNormMode } from '../layers/batch_norm.js';

/** One layer's row. */
export interface LayerSummary {
  index: number;
  name: string;
  className: string;
  outputShape: string;
  /** Parameters (weights) of the layer, trainable or not. */
  params: number;
  /** Parameters that receive gradient updates. */
  trainableParams: number;
  /** `'trainable'`, `'frozen'`, or `'partial'` (some weights frozen, as a BN in 'train-affine'); `'-'` for weightless layers. */
  status: 'trainable' | 'frozen' | 'partial' | '-';
  /** BatchNorm mode (BN layers only). */
  bn?: BatchNormMode;
}

/** Per-layer rows, totals and a printable table. */
export interface ModelSummary {
  layers: LayerSummary[];
  totalParams: number;
  trainableParams: number;
  /** trainableParams / totalParams, in percent. */
  trainablePercent: number;
  /** The table as text (what `console.log(summary(m).text)` shows). */
  text: string;
}

const count = (ws: { shape: number[] }[]) => ws.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0);

/** Summarises trainability of every layer. */
export function summary(target: tfl.LayersModel | ModelHandle): ModelSummary {
  const model = 'model' in target ? target.model : target;
  const layers: LayerSummary[] = model.layers.map((l, index) => {
    const params = count(l.weights as unknown as { shape: number[] }[]);
    const trainableParams = count(l.trainableWeights as unknown as { shape: number[] }[]);
    const status: LayerSummary['status'] = params === 0 ? '-' : trainableParams === 0 ? 'frozen' : trainableParams === params ? 'trainable' : 'partial';
    const shape = JSON.stringify(l.outputShape).replace(/null/g, 'None');
    return { index, name: l.name, className: l.getClassName(), outputShape: shape, params, trainableParams, status, ...(isBatchNorm(l) ? { bn: batchNormMode(l) } : {}) };
  });
  const totalParams = layers.reduce((a, r) => a + r.params, 0);
  const trainableParams = layers.reduce((a, r) => a + r.trainableParams, 0);
  const trainablePercent = totalParams === 0 ? 0 : (100 * trainableParams) / totalParams;
  const w = [5, Math.max(5, ...layers.map((r) => r.name.length)), Math.max(5, ...layers.map((r) => r.className.length)), Math.max(12, ...layers.map((r) => r.outputShape.length)), 10, 10, 14];
  const row = (cells: string[]) => cells.map((c, i) => (i >= 4 && i <= 5 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  const lines = [
    row(['#', 'layer', 'class', 'output shape', 'params', 'trainable', 'status']),
    ...layers.map((r) => row([String(r.index), r.name, r.className, r.outputShape, String(r.params), String(r.trainableParams), r.bn ? `${r.status} (bn ${r.bn})` : r.status])),
    `total params: ${totalParams}; trainable: ${trainableParams} (${trainablePercent.toFixed(1)} %); frozen: ${totalParams - trainableParams}`,
  ];
  return { layers, totalParams, trainableParams, trainablePercent, text: lines.join('\n') };
}
