/**
 * Block boundaries of a backbone: where it can be split without cutting a residual block or
 * separating a convolution from its BatchNorm. Used for the default fine-tune depth and for
 * layer groups (discriminative rates, layer-wise decay).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { PretrainedModel } from '../models/pretrained_model.js';
import { inboundIndices, isCut } from '../train/graph_executor.js';

const BLOCK_START = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense']);

/**
 * Indices of the layers that start a block in layers 1..featureIdx: a conv/dense layer right after
 * a graph cut (every path from the input passes through the previous layer's output).
 */
export function blockStarts(model: tfl.LayersModel, featureIdx: number): number[] {
  const feeds = inboundIndices(model);
  const starts: number[] = [];
  for (let c = 1; c < featureIdx; c++) if (isCut(feeds, c) && BLOCK_START.has(model.layers[c + 1].getClassName())) starts.push(c + 1);
  return starts;
}

/** Index of the model's feature layer. */
export function featureIndex(pm: PretrainedModel): number {
  return pm.model.layers.findIndex((l) => l.name === pm.featureLayer);
}

/**
 * Default fine-tune boundary: the block start nearest 75 % of the backbone's depth (Keras' guide
 * unfreezes the top of the base; the TF tutorial fine-tunes from layer 100 of MobileNetV2's 154).
 */
export function defaultUnfreezeFrom(pm: PretrainedModel): string {
  const featureIdx = featureIndex(pm);
  const target = Math.round(featureIdx * 0.75);
  const starts = blockStarts(pm.model, featureIdx);
  const best = starts.length === 0 ? target + 1 : starts.reduce((a, b) => (Math.abs(b - 1 - target) < Math.abs(a - 1 - target) ? b : a));
  return pm.model.layers[best].name;
}
