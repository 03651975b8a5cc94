/**
 * Runs a functional model's layers from one layer's output onwards, on concrete tensors.
 *
 * Why: activation caching. When every layer up to some "cut" is frozen, deterministic and in
 * inference mode, its output for a given input never changes during training, so it is computed
 * once and the training steps run only the layers after the cut. Applying layers to concrete
 * tensors (not symbolic ones) adds no graph nodes, so the model itself is left untouched.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { batchNormMode, isBatchNorm } from '../layers/batch_norm.js';
import { withFoldPlan } from '../layers/fold_batch_norm.js';

type Layer = tfl.layers.Layer;
interface NodeLike {
  inboundLayers: Layer[];
  tensorIndices: number[];
}

const STOCHASTIC = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

function inbound(layer: Layer): NodeLike {
  const nodes = (layer as unknown as { inboundNodes: NodeLike[] }).inboundNodes;
  return nodes[0];
}

/** For each layer index, the indices of the layers feeding it (node 0). */
export function inboundIndices(model: tfl.LayersModel): number[][] {
  const index = new Map(model.layers.map((l, i) => [l, i]));
  return model.layers.map((l) => {
    const node = inbound(l);
    return node === undefined ? [] : node.inboundLayers.map((src) => {
      const i = index.get(src);
      if (i === undefined) throw new TransferKitError('E_MODEL_TOPOLOGY', `Layer '${l.name}' is fed by '${src.name}', which is not part of model '${model.name}'.`);
      return i;
    });
  });
}

/** True when every path from the input to the output passes through layer `c`'s output. */
export function isCut(feeds: number[][], c: number): boolean {
  for (let j = c + 1; j < feeds.length; j++) for (const i of feeds[j]) if (i < c) return false;
  return true;
}

/** True when `layer` computes the same function at every step (no trainable weights, no noise, BN fixed). */
export function isStaticLayer(layer: Layer): boolean {
  if (layer.trainableWeights.length > 0) return false;
  if (STOCHASTIC.has(layer.getClassName())) return false;
  if (isBatchNorm(layer) && batchNormMode(layer) !== 'frozen') return false;
  return true;
}

/**
 * The deepest layer index c whose output can be cached: layers 0..c are static and c is a cut.
 * Returns 0 (the input layer) when nothing can be cached.
 */
export function cachePoint(model: tfl.LayersModel): number {
  const feeds = inboundIndices(model);
  let best = 0;
  for (let c = 0; c < model.layers.length - 1; c++) {
    if (!isStaticLayer(model.layers[c])) break;
    if (isCut(feeds, c)) best = c;
  }
  return best;
}

/**
 * Computes the output of layer `to` given that layer `from` outputs `input`, applying layers
 * from+1..to with `training`. In training, or while a gradient tape records, intermediate tensors
 * are left to the caller's tidy scope (the backward pass needs them). In inference each layer's
 * output is disposed as soon as the last layer reading it has run, as tfjs-layers' own executor
 * does in `model.apply(x, { training: false })`: otherwise computing an activation cache would
 * hold every backbone layer's output for the batch until the batch's tidy scope ends.
 */
export function runLayers(model: tfl.LayersModel, from: number, input: tf.Tensor, to: number, training: boolean): tf.Tensor {
  // The caller reads layer `to`'s own output: a Conv→BN(→ReLU) chain it ends early must not fold
  // past it (else stopping at a convolution returns conv + BN + activation: AdaBN's BN inputs,
  // an activation cache cut before a trainable BN).
  return withFoldPlan(model, () => runLayersInPlan(model, from, input, to, training), [model.layers[to]]);
}

function runLayersInPlan(model: tfl.LayersModel, from: number, input: tf.Tensor, to: number, training: boolean): tf.Tensor {
  const layers = model.layers;
  const feeds = inboundIndices(model);
  const free = !training && !tf.engine().isTapeOn();
  // lastUse[i]: the last layer in (from, to] that reads layer i's output.
  const lastUse = new Map<number, number>();
  if (free) for (let j = from + 1; j <= to; j++) for (const i of feeds[j]) lastUse.set(i, j);
  // How many live outputs hold each tensor: a layer may return its input unchanged (Dropout in
  // inference, Activation('linear')), and such a tensor must outlive every output that holds it.
  // Only counted when freeing: training steps (the hot path) skip the bookkeeping.
  const holders = new Map<tf.Tensor, number>();
  const hold = (ts: tf.Tensor[], d: number) => free && ts.forEach((t) => holders.set(t, (holders.get(t) ?? 0) + d));
  const values = new Map<number, tf.Tensor[]>([[from, [input]]]);
  hold([input], 1);
  const release = (i: number) => {
    const ts = values.get(i) as tf.Tensor[];
    values.delete(i);
    hold(ts, -1);
    for (const t of ts) if (holders.get(t) === 0 && t !== input) t.dispose();
  };
  for (let j = from + 1; j <= to; j++) {
    const node = inbound(layers[j]);
    const ins = feeds[j].map((i, k) => {
      const v = values.get(i);
      if (v === undefined) throw new TransferKitError('E_MODEL_TOPOLOGY', `Layer '${layers[j].name}' needs '${layers[i].name}', which lies before the cut at '${layers[from].name}'.`);
      return v[node.tensorIndices[k] ?? 0];
    });
    const out = layers[j].apply(ins.length === 1 ? ins[0] : ins, { training }) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(out) ? out : [out];
    values.set(j, outs);
    hold(outs, 1);
    if (!free) continue;
    for (const i of new Set(feeds[j])) if (lastUse.get(i) === j && i !== from) release(i);
    // An output nothing up to `to` reads (a dead branch) is not needed either.
    if (j !== to && !lastUse.has(j)) release(j);
  }
  return (values.get(to) as tf.Tensor[])[0];
}

const CONV_KERNEL_ATTR: Record<string, string> = { Conv2D: 'kernel', DepthwiseConv2D: 'depthwiseKernel' };

/**
 * The filters of the trained convolutions (among `vars`, layers after `from`) whose input does
 * not depend on any of `vars` — the stem on the images, the first trained convolution above a
 * frozen or cached prefix. Their input gradients are discarded by the tape, so the training step
 * marks them unneeded (`withUnneededInputGradients`). Layers applied more than once are left out.
 */
export function convFiltersOnConstantInputs(model: tfl.LayersModel, from: number, vars: readonly tf.Variable[]): tf.Tensor[] {
  const trained = new Set<tf.Tensor>(vars);
  const feeds = inboundIndices(model);
  const depends = new Array<boolean>(model.layers.length).fill(false);
  const out: tf.Tensor[] = [];
  for (let j = from + 1; j < model.layers.length; j++) {
    const layer = model.layers[j];
    const inputDepends = feeds[j].some((i) => i > from && depends[i]);
    const own = layer.trainableWeights.some((w) => trained.has(w.read()));
    depends[j] = inputDepends || own;
    const attr = CONV_KERNEL_ATTR[layer.getClassName()];
    const nodes = (layer as unknown as { inboundNodes: NodeLike[] }).inboundNodes;
    if (attr === undefined || inputDepends || !own || nodes.length !== 1) continue;
    const kernel = (layer as unknown as Record<string, { read(): tf.Tensor } | undefined>)[attr];
    if (kernel !== undefined && trained.has(kernel.read())) out.push(kernel.read());
  }
  return out;
}
