/**
 * `recipes.featureExtraction`: the backbone stays frozen (a feature extractor, BatchNorm in
 * inference mode) and only the new head trains — Keras' stage 1 alone, a linear probe when the
 * head is one Dense layer. The only recipe for a head on a frozen encoder (ONNX or TF.js).
 */
import { freeze } from '../freeze.js';
import type { BatchNormMode } from '../../layers/batch_norm.js';
import { checkInt, checkRate, headUnfreeze, type FineTuneRecipe } from './recipe.js';

/** Options of {@link featureExtraction}. */
export interface FeatureExtractionOptions {
  /** Epochs (default 5). */
  epochs?: number;
  /** Learning rate (default 1e-3, constant unless the run's `schedule` says otherwise). */
  learningRate?: number;
  /** BatchNorm mode of the frozen backbone (default `'frozen'`). */
  frozenBn?: BatchNormMode;
}

/** Head-only training on a frozen backbone (see the module doc). */
export function featureExtraction(o: FeatureExtractionOptions = {}): FineTuneRecipe {
  const epochs = checkInt('featureExtraction', 'epochs', o.epochs ?? 5);
  const lr = checkRate('featureExtraction', 'learningRate', o.learningRate ?? 1e-3);
  return {
    name: 'feature-extraction',
    stages: (pm) => [{
      name: 'head', epochs, learningRate: lr,
      setup: () => {
        freeze(pm, 'backbone', { bn: o.frozenBn ?? 'frozen' });
        headUnfreeze(pm);
      },
    }],
  };
}
