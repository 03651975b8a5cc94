/**
 * The masked-LM head of BERT / DistilBERT, tied to the word embeddings as in HF
 * (`BertOnlyMLMHead`: dense → activation → LayerNorm → decoder whose weight IS
 * `embeddings.word_embeddings.weight`, plus its own bias; DistilBERT's `vocab_transform`,
 * `vocab_layer_norm`, `vocab_projector`).
 *
 * Plain variables rather than a layers model: the loss only needs logits at the masked positions
 * (`[N, V]`, not `[B, T, V]`, which for V = 30522 would be ~0.5 GB per batch), so the head is
 * applied to gathered states.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gelu } from '../layers/gelu.js';
import { TextEmbeddings } from '../layers/text_embeddings.js';
import type { TextModel } from '../text_model.js';
import { TransferKitError } from '../../../errors.js';
import type { TextFamilySpec } from '../family.js';
import { TEXT_FAMILIES } from '../registry.js';

let instances = 0;

/** The tied masked-LM head of a text model. */
export class MaskedLMHead {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly normWeight: tf.Variable;
  readonly normBias: tf.Variable;
  readonly decoderBias: tf.Variable;
  private readonly embeddings: TextEmbeddings;
  private readonly activation: 'gelu' | 'gelu_tanh' | 'relu';
  private readonly eps: number;
  readonly names: TextFamilySpec['mlm'];

  constructor(readonly tm: TextModel, seed = 0) {
    const emb = tm.model.layers.find((l) => l instanceof TextEmbeddings);
    if (emb === undefined) throw new TransferKitError('E_MODEL_TOPOLOGY', `${tm.source}: no embeddings layer to tie the masked-LM decoder to.`);
    this.embeddings = emb as TextEmbeddings;
    const { hiddenSize: h, vocabSize: v, initializerRange: std, layerNormEps, activation } = tm.spec;
    this.names = TEXT_FAMILIES[tm.family].mlm;
    this.activation = activation === 'relu' ? 'relu' : activation === 'gelu' ? 'gelu' : 'gelu_tanh';
    this.eps = layerNormEps;
    const n = this.names;
    const uid = ++instances; // tf.variable names must be unique per process
    this.kernel = tf.tidy(() => tf.variable(tf.randomNormal([h, h], 0, std, 'float32', seed + 1), true, `${n.dense}/kernel_${uid}`)); // tidy frees the initial value
    this.bias = tf.tidy(() => tf.variable(tf.zeros([h]), true, `${n.dense}/bias_${uid}`)); // tidy frees the initial value
    this.normWeight = tf.tidy(() => tf.variable(tf.ones([h]), true, `${n.norm}/weight_${uid}`)); // tidy frees the initial value
    this.normBias = tf.tidy(() => tf.variable(tf.zeros([h]), true, `${n.norm}/bias_${uid}`)); // tidy frees the initial value
    this.decoderBias = tf.tidy(() => tf.variable(tf.zeros([v]), true, `${n.bias}_${uid}`)); // tidy frees the initial value
  }

  /** The head's own variables (the tied decoder weight belongs to the embeddings). */
  get variables(): tf.Variable[] {
    return [this.kernel, this.bias, this.normWeight, this.normBias, this.decoderBias];
  }

  /** Vocabulary logits `[N, V]` of hidden states `[N, H]`. */
  logits(hidden: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let x: tf.Tensor = tf.add(tf.matMul(hidden, this.kernel), this.bias);
      x = this.activation === 'relu' ? tf.relu(x) : gelu(x, this.activation === 'gelu' ? 'none' : 'tanh');
      const c = tf.sub(x, tf.mean(x, -1, true));
      x = tf.add(tf.mul(tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), -1, true), this.eps))), this.normWeight), this.normBias);
      return tf.add(tf.matMul(x, this.embeddings.wordEmbeddings.read(), false, true), this.decoderBias) as tf.Tensor2D;
    });
  }

  /** HF-named tensors of the head (`cls.predictions.*`), kernels as PyTorch `[out, in]`. */
  namedTensors(): Record<string, tf.Tensor> {
    const n = this.names;
    return {
      [`${n.dense}.weight`]: tf.transpose(this.kernel),
      [`${n.dense}.bias`]: this.bias,
      [`${n.norm}.weight`]: this.normWeight,
      [`${n.norm}.bias`]: this.normBias,
      [n.bias]: this.decoderBias,
    };
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}
