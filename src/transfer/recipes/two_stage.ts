/**
 * `recipes.twoStage`: the Keras guide "Transfer learning & fine-tuning". Stage 1 trains the new
 * head with the whole backbone frozen (BatchNorm in inference mode); stage 2 unfreezes the top of
 * the backbone and trains at a lower rate, BatchNorm statistics still frozen (Keras calls the base
 * with `training=False`, so gamma/beta train but moving statistics do not: `'train-affine'`).
 * Schedule: constant for the head, cosine decay to 0 for the fine-tune stage (the run's
 * `schedule` overrides both).
 */
import type { LayerSpec } from '../freeze.js';
import { freeze, unfreeze } from '../freeze.js';
import type { BatchNormMode } from '../../layers/batch_norm.js';
import { defaultUnfreezeFrom } from '../block_boundaries.js';
import { checkInt, checkRate, headBatchNormTrains, headUnfreeze, type FineTuneRecipe } from './recipe.js';

/** Options of {@link twoStage}. */
export interface TwoStageOptions {
  /** Epochs of the head stage (default 5). */
  headEpochs?: number;
  /** Epochs of the fine-tune stage (default 5). */
  epochs?: number;
  /** Learning rate of the head stage (default 1e-3). */
  headLearningRate?: number;
  /** Peak learning rate of the fine-tune stage (default 1e-4, 10x below the head's). */
  learningRate?: number;
  /** Layers unfrozen in the fine-tune stage (default: the backbone after the block boundary nearest 75 % of its depth). */
  unfreeze?: LayerSpec;
  /** BatchNorm mode of the unfrozen layers (default `'train-affine'`, Keras). */
  bn?: BatchNormMode;
  /** BatchNorm mode of the frozen backbone in the head stage (default `'frozen'`, Keras). */
  frozenBn?: BatchNormMode;
}

/** Keras' two-stage recipe (see the module doc). */
export function twoStage(o: TwoStageOptions = {}): FineTuneRecipe {
  const headEpochs = checkInt('twoStage', 'headEpochs', o.headEpochs ?? 5);
  const epochs = checkInt('twoStage', 'epochs', o.epochs ?? 5);
  const headLr = checkRate('twoStage', 'headLearningRate', o.headLearningRate ?? 1e-3);
  const lr = checkRate('twoStage', 'learningRate', o.learningRate ?? 1e-4);
  return {
    name: 'two-stage',
    stages: (pm) => [
      {
        name: 'head', epochs: headEpochs, learningRate: headLr,
        setup: () => {
          freeze(pm, 'backbone', { bn: o.frozenBn ?? 'frozen' });
          headUnfreeze(pm);
        },
      },
      {
        name: 'fine-tune', epochs, learningRate: lr,
        setup: () => {
          unfreeze(pm, o.unfreeze ?? { from: defaultUnfreezeFrom(pm) }, { bn: o.bn ?? 'train-affine' });
          headBatchNormTrains(pm);
        },
      },
    ],
  };
}
