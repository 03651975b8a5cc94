/**
 * `recipes.full`: one stage with every layer trainable (BatchNorm training), cosine decay from
 * the peak rate — plain fine-tuning of the whole network, as `model.fit` on an unfrozen model.
 */
import { unfreeze } from '../freeze.js';
import { checkInt, checkRate, type FineTuneRecipe } from './recipe.js';

/** Options of {@link full}. */
export interface FullOptions {
  /** Epochs (default 5). */
  epochs?: number;
  /** Peak learning rate (default 1e-4). */
  learningRate?: number;
}

/** Every layer trains (see the module doc). */
export function full(o: FullOptions = {}): FineTuneRecipe {
  const epochs = checkInt('full', 'epochs', o.epochs ?? 5);
  const lr = checkRate('full', 'learningRate', o.learningRate ?? 1e-4);
  return { name: 'full', stages: (pm) => [{ name: 'full', epochs, learningRate: lr, setup: () => void unfreeze(pm, 'all') }] };
}
