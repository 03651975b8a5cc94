/**
 * `recipes.custom`: explicit stages, as a Keras user calling `fit` several times with different
 * `trainable` settings, or fastai's `freeze_to(n)` + `fit_one_cycle`. Each stage freezes
 * everything, then unfreezes its `trainable` layers (default the head).
 */
import { TransferKitError } from '../../errors.js';
import { ConstantSchedule } from '../../schedules/constant.js';
import type { FineTuneStage } from '../fine_tune.js';
import { freeze, unfreeze } from '../freeze.js';
import type { FineTuneRecipe } from './recipe.js';

/** User-defined stages (see the module doc). */
export function custom(stages: FineTuneStage[]): FineTuneRecipe {
  if (!Array.isArray(stages) || stages.length === 0) throw new TransferKitError('E_BAD_OPTION', 'recipes.custom: no stages (`stages` is empty). Pass at least one stage ({ epochs, trainable, learningRate }).');
  const names = new Set<string>();
  stages.forEach((st, i) => {
    const name = st.name ?? `stage_${i}`;
    if (names.has(name)) throw new TransferKitError('E_BAD_OPTION', `recipes.custom: two stages are named '${name}'. Stage names must be unique (they label logs and checkpoints).`);
    names.add(name);
    if (!(Number.isInteger(st.epochs) && st.epochs >= 0)) throw new TransferKitError('E_BAD_OPTION', `recipes.custom: stages[${i}].epochs must be an integer >= 0. Received: ${st.epochs}.`);
    const lr = st.learningRate ?? 1e-3;
    if (!(lr > 0)) throw new TransferKitError('E_BAD_OPTION', `recipes.custom: stages[${i}].learningRate must be > 0. Received: ${lr}.`);
  });
  return {
    name: 'custom',
    stages: (pm) => stages.map((st, i) => {
      const schedule = st.schedule;
      return {
        name: st.name ?? `stage_${i}`,
        epochs: st.epochs,
        learningRate: st.learningRate ?? 1e-3,
        setup: () => {
          freeze(pm, 'all', { bn: st.frozenBn ?? 'frozen' });
          if (st.trainable === undefined || st.trainable === 'head') unfreeze(pm, { from: pm.headLayers[0] ?? pm.featureLayer }, { bn: st.bn ?? 'train' });
          else unfreeze(pm, st.trainable, { bn: st.bn ?? 'train' });
        },
        overrides: {
          schedule: (_s, peak, total) => (schedule !== undefined ? schedule(peak, total) : new ConstantSchedule(peak)),
          ...(st.optimizer !== undefined ? { optimizer: st.optimizer } : {}),
          ...(st.paramGroups !== undefined ? { paramGroups: st.paramGroups } : {}),
          ...(st.weightDecay !== undefined ? { weightDecay: st.weightDecay } : {}),
        },
      };
    }),
  };
}
