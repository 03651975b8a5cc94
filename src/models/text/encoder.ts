/**
 * The post-LN transformer encoder shared by BERT and DistilBERT, built as a functional tfjs-layers
 * graph whose layer names are the checkpoint's module paths, so `encoder.layer.3.attention.self.query`
 * is a Dense layer you can freeze, wrap with LoRA, or load by its Hugging Face key.
 *
 * Per block (HF `BertLayer`; DistilBERT's `TransformerBlock` is the same computation):
 *   a = LN(x + Dropout(Wo · MHA(Wq x, Wk x, Wv x, mask)))
 *   y = LN(a + Dropout(W2 · act(W1 a)))
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../../errors.js';
import { Gelu } from './layers/gelu.js';
import { LayerNorm } from './layers/layer_norm.js';
import { MultiHeadAttention } from './layers/multi_head_attention.js';
import { TextEmbeddings } from './layers/text_embeddings.js';

/** Sizes and options of an encoder, independent of the family's config keys. */
export interface EncoderSpec {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  /** Feed-forward activation, as HF's `ACT2FN` key (`'gelu'`, `'gelu_new'`, `'relu'`, ...). */
  activation: string;
  hiddenDropout: number;
  attentionDropout: number;
  maxPositions: number;
  /** 0 when the model has no token-type embeddings. */
  typeVocabSize: number;
  layerNormEps: number;
  initializerRange: number;
  padTokenId: number;
  /** Position ids count real tokens after the padding index (RoBERTa); default 0..T-1. */
  positionsAfterPadding?: boolean;
}

/** Module paths of one block, as the family's checkpoint names them (without the base prefix). */
export interface BlockNames {
  query: string;
  key: string;
  value: string;
  attentionOutput: string;
  attentionNorm: string;
  intermediate: string;
  output: string;
  outputNorm: string;
}

/** Module paths of a family's encoder. */
export interface EncoderNames {
  embeddings: string;
  embeddingsNorm: string;
  block(i: number): BlockNames;
}

/** Symbolic inputs of a text model. */
export interface TextInputs {
  inputIds: tfl.SymbolicTensor;
  attentionMask: tfl.SymbolicTensor;
  tokenTypeIds?: tfl.SymbolicTensor;
}

/** A Dense layer initialised as HF `_init_weights`: N(0, initializer_range) kernel, zero bias. */
export function hfDense(units: number, name: string, initializerRange: number, activation?: 'tanh' | 'relu', seed?: number): tfl.layers.Layer {
  return tfl.layers.dense({
    units,
    name,
    activation,
    kernelInitializer: tfl.initializers.randomNormal({ mean: 0, stddev: initializerRange, ...(seed !== undefined ? { seed } : {}) }),
    biasInitializer: 'zeros',
  });
}

/** The activation layer for an HF `hidden_act` / `activation` value. */
export function activationLayer(act: string, name: string): tfl.layers.Layer {
  if (act === 'gelu') return new Gelu({ approximate: 'none', name });
  if (act === 'gelu_new' || act === 'gelu_pytorch_tanh' || act === 'gelu_fast') return new Gelu({ approximate: 'tanh', name });
  if (act === 'relu') return tfl.layers.activation({ activation: 'relu', name });
  throw new TransferKitError('E_NOT_IMPLEMENTED', `Activation '${act}' (config hidden_act/activation) is not supported. Supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu.`);
}

function dropout(rate: number, name: string): tfl.layers.Layer {
  return tfl.layers.dropout({ rate, name });
}

function apply(layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor {
  return layer.apply(x) as tfl.SymbolicTensor;
}

/** Seeds for successive initialisers from one base seed (undefined stays unseeded). */
export function seedStream(seed: number | undefined): () => number | undefined {
  let i = 0;
  // Steps of 3: the embeddings layer uses seed, seed + 1, seed + 2 for its three tables.
  return () => (seed === undefined ? undefined : seed * 10007 + 1 + 3 * i++); // never 0: TF.js treats a 0 seed as none
}

/** Builds the embeddings and blocks; returns the last hidden state `[B, T, H]`. */
export function buildEncoder(spec: EncoderSpec, names: EncoderNames, inputs: TextInputs, nextSeed: () => number | undefined = () => undefined): tfl.SymbolicTensor {
  const h = spec.hiddenSize;
  const embeddings = new TextEmbeddings({
    vocabSize: spec.vocabSize,
    hiddenSize: h,
    maxPositions: spec.maxPositions,
    typeVocabSize: spec.typeVocabSize,
    initializerRange: spec.initializerRange,
    padTokenId: spec.padTokenId,
    positionsAfterPadding: spec.positionsAfterPadding === true,
    seed: nextSeed(),
    name: names.embeddings,
  });
  const embInputs = inputs.tokenTypeIds !== undefined ? [inputs.inputIds, inputs.tokenTypeIds] : [inputs.inputIds];
  let x = apply(embeddings, embInputs);
  x = apply(new LayerNorm({ epsilon: spec.layerNormEps, name: names.embeddingsNorm }), x);
  x = apply(dropout(spec.hiddenDropout, `${names.embeddings}.dropout`), x);
  for (let i = 0; i < spec.numLayers; i++) {
    const n = names.block(i);
    const q = apply(hfDense(h, n.query, spec.initializerRange, undefined, nextSeed()), x);
    const k = apply(hfDense(h, n.key, spec.initializerRange, undefined, nextSeed()), x);
    const v = apply(hfDense(h, n.value, spec.initializerRange, undefined, nextSeed()), x);
    const context = apply(new MultiHeadAttention({ numHeads: spec.numHeads, dropout: spec.attentionDropout, name: `${n.query}.attention` }), [q, k, v, inputs.attentionMask]);
    let a = apply(hfDense(h, n.attentionOutput, spec.initializerRange, undefined, nextSeed()), context);
    a = apply(dropout(spec.hiddenDropout, `${n.attentionOutput}.dropout`), a);
    a = apply(tfl.layers.add({ name: `${n.attentionNorm}.residual` }), [a, x]);
    a = apply(new LayerNorm({ epsilon: spec.layerNormEps, name: n.attentionNorm }), a);
    let f = apply(hfDense(spec.intermediateSize, n.intermediate, spec.initializerRange, undefined, nextSeed()), a);
    f = apply(activationLayer(spec.activation, `${n.intermediate}.act`), f);
    f = apply(hfDense(h, n.output, spec.initializerRange, undefined, nextSeed()), f);
    f = apply(dropout(spec.hiddenDropout, `${n.output}.dropout`), f);
    f = apply(tfl.layers.add({ name: `${n.outputNorm}.residual` }), [f, a]);
    x = apply(new LayerNorm({ epsilon: spec.layerNormEps, name: n.outputNorm }), f);
  }
  return x;
}
