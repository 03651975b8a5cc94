/**
 * Word + learned position (+ token-type) embeddings, summed: the input stage of HF
 * `BertEmbeddings` / `DistilBERT Embeddings` before their LayerNorm (which is its own layer, so
 * its weights keep HF's name `embeddings.LayerNorm`).
 *
 * One layer holds the three tables so their names mirror the checkpoint keys
 * (`embeddings.word_embeddings.weight`, ...) and the masked-LM decoder can tie to
 * `wordEmbeddings`. Position ids are 0..T-1 (HF's default `position_ids` buffer), or RoBERTa's
 * padding-aware ids.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../../../errors.js';

/** Constructor arguments of {@link TextEmbeddings}. */
export interface TextEmbeddingsArgs {
  vocabSize: number;
  hiddenSize: number;
  maxPositions: number;
  /** Segment vocabulary; 0 for models without token types (DistilBERT). */
  typeVocabSize: number;
  /** Std of the normal initialiser (HF `initializer_range`). */
  initializerRange: number;
  /** Row of the word table zeroed at initialisation (HF's `padding_idx`). */
  padTokenId?: number;
  /**
   * RoBERTa's position ids: `cumsum(ids != pad) * (ids != pad) + pad` (HF
   * `create_position_ids_from_input_ids`); default false (0..T-1).
   */
  positionsAfterPadding?: boolean;
  /** Seed of the initialiser (each table gets seed, seed + 1, seed + 2). */
  seed?: number;
  name?: string;
}

/** Inputs: `[input_ids]` or `[input_ids, token_type_ids]`, int32 `[B, T]`. Output `[B, T, H]`. */
export class TextEmbeddings extends tfl.layers.Layer {
  static className = 'TransferKitTextEmbeddings';
  private readonly args: TextEmbeddingsArgs;
  wordEmbeddings!: tfl.LayerVariable;
  positionEmbeddings!: tfl.LayerVariable;
  tokenTypeEmbeddings: tfl.LayerVariable | null = null;

  constructor(args: TextEmbeddingsArgs) {
    super({ name: args.name });
    this.args = args;
  }

  override build(): void {
    const { vocabSize, hiddenSize, maxPositions, typeVocabSize, initializerRange, padTokenId, seed } = this.args;
    const init = (k: number) => tfl.initializers.randomNormal({ mean: 0, stddev: initializerRange, ...(seed !== undefined ? { seed: seed + k } : {}) });
    this.wordEmbeddings = this.addWeight('word_embeddings', [vocabSize, hiddenSize], 'float32', init(0));
    if (padTokenId !== undefined && padTokenId >= 0 && padTokenId < vocabSize) {
      // HF zeroes the padding row of a freshly initialised nn.Embedding(padding_idx=...).
      const w = this.wordEmbeddings.read();
      const keep = tf.tidy(() => tf.mul(w, tf.reshape(tf.sub(1, tf.oneHot(padTokenId, vocabSize)), [vocabSize, 1])));
      this.wordEmbeddings.write(keep);
      keep.dispose();
    }
    this.positionEmbeddings = this.addWeight('position_embeddings', [maxPositions, hiddenSize], 'float32', init(1));
    if (typeVocabSize > 0) this.tokenTypeEmbeddings = this.addWeight('token_type_embeddings', [typeVocabSize, hiddenSize], 'float32', init(2));
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [s[0], s[1], this.args.hiddenSize];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const ids = list[0];
      const [b, t] = ids.shape;
      if (t > this.args.maxPositions) {
        throw new TransferKitError('E_DATA', `${this.name}: sequence length ${t} exceeds max_position_embeddings (${this.args.maxPositions}). Truncate inputs (tokenizer maxLength) to at most ${this.args.maxPositions} tokens.`);
      }
      const flat = tf.reshape(tf.cast(ids, 'int32'), [-1]);
      let x = tf.reshape(tf.gather(this.wordEmbeddings.read(), flat), [b, t, this.args.hiddenSize]);
      if (this.args.positionsAfterPadding === true) {
        const pad = this.args.padTokenId ?? 1;
        const real = tf.cast(tf.notEqual(tf.cast(ids, 'int32'), pad), 'int32');
        const positions = tf.cast(tf.add(tf.mul(tf.cumsum(real, 1), real), tf.scalar(pad, 'int32')), 'int32');
        if (t + pad >= this.args.maxPositions) {
          throw new TransferKitError('E_DATA', `${this.name}: sequence length ${t} needs positions up to ${t + pad}, beyond max_position_embeddings (${this.args.maxPositions}). Truncate inputs to at most ${this.args.maxPositions - pad - 1} tokens.`);
        }
        x = tf.add(x, tf.reshape(tf.gather(this.positionEmbeddings.read(), tf.reshape(positions, [-1])), [b, t, this.args.hiddenSize]));
      } else {
        const pos = tf.slice(this.positionEmbeddings.read(), [0, 0], [t, this.args.hiddenSize]);
        x = tf.add(x, tf.reshape(pos, [1, t, this.args.hiddenSize]));
      }
      if (this.tokenTypeEmbeddings !== null) {
        const types = list[1] !== undefined ? tf.reshape(tf.cast(list[1], 'int32'), [-1]) : tf.zeros([b * t], 'int32');
        x = tf.add(x, tf.reshape(tf.gather(this.tokenTypeEmbeddings.read(), types), [b, t, this.args.hiddenSize]));
      }
      return x;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { name: _name, ...rest } = this.args;
    void _name;
    return { ...super.getConfig(), ...rest };
  }
}
tf.serialization.registerClass(TextEmbeddings);
