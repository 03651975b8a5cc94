/**
 * `recipes.fastai`: fastai's `Learner.fine_tune(epochs, base_lr=2e-3, freeze_epochs=1,
 * lr_mult=100, pct_start=0.3, div=5)`, stage for stage. The body is frozen with BatchNorm still
 * training (`train_bn`), one-cycle over `slice(base_lr)` with `pct_start=0.99` for `freezeEpochs`;
 * then `base_lr /= 2`, everything unfrozen, one-cycle over `slice(base_lr / lr_mult, base_lr)`
 * with `pct_start`, `div` for `epochs`; 3 layer groups (discriminative rates); fastai's Adam
 * (decoupled weight decay 0.01, betas (0.9, 0.99), eps 1e-5, no decay on BatchNorm and biases),
 * momentum cycled with the rate.
 */
import { AdamW } from '../../optimizers/adam.js';
import { OneCycle } from '../../schedules/one_cycle.js';
import type { OptimizerSpec } from '../../train/optimizers.js';
import type { BatchNormMode } from '../../layers/batch_norm.js';
import { freeze, unfreeze } from '../freeze.js';
import { checkInt, checkRate, headBatchNormTrains, headUnfreeze, type FineTuneRecipe } from './recipe.js';

/** fastai's Adam: decoupled weight decay 0.01, betas (0.9, 0.99), eps 1e-5 (`fastai.optimizer.Adam`). */
const fastaiAdam: OptimizerSpec = (groups, lr) => new AdamW(groups, { learningRate: lr, betas: [0.9, 0.99], epsilon: 1e-5, weightDecay: 0.01 });

/** Options of {@link fastai}, named as fastai's. */
export interface FastaiOptions {
  /** Epochs with the body frozen (fastai `freeze_epochs`, default 1). */
  freezeEpochs?: number;
  /** Epochs unfrozen (fastai `epochs`, default 5). */
  epochs?: number;
  /** fastai `base_lr` (default 2e-3). */
  baseLr?: number;
  /** fastai `lr_mult` (default 100). */
  lrMult?: number;
  /** `pct_start` of the unfrozen stage (default 0.3). */
  pctStart?: number;
  /** `div` of the unfrozen stage (default 5). */
  div?: number;
  /** Layer groups for the discriminative rates (default 3, fastai's body split + head). */
  groups?: number;
  /** BatchNorm mode once unfrozen (default `'train'`). */
  bn?: BatchNormMode;
  /** BatchNorm mode of the frozen body (default `'train'`: fastai's `train_bn`). */
  frozenBn?: BatchNormMode;
}

/** fastai's `fine_tune` (see the module doc). */
export function fastai(o: FastaiOptions = {}): FineTuneRecipe {
  const freezeEpochs = checkInt('fastai', 'freezeEpochs', o.freezeEpochs ?? 1);
  const epochs = checkInt('fastai', 'epochs', o.epochs ?? 5);
  const baseLr = checkRate('fastai', 'baseLr', o.baseLr ?? 2e-3);
  const lrMult = checkRate('fastai', 'lrMult', o.lrMult ?? 100);
  return {
    name: 'fine-tune',
    stages: (pm, run) => {
      const groups = o.groups ?? run.paramGroups?.groups ?? 3;
      const optimizer = run.optimizer ?? fastaiAdam;
      return [
        {
          name: 'head', epochs: freezeEpochs, learningRate: baseLr,
          setup: () => {
            freeze(pm, 'backbone', { bn: o.frozenBn ?? 'train' });
            headUnfreeze(pm);
          },
          overrides: { optimizer, paramGroups: { ...run.paramGroups, groups, learningRate: { hi: baseLr } }, schedule: (_s, peak, total) => new OneCycle({ maxLearningRate: peak, totalSteps: total, pctStart: 0.99 }) },
        },
        {
          name: 'fine-tune', epochs, learningRate: baseLr / 2,
          setup: () => {
            unfreeze(pm, 'all', { bn: o.bn ?? 'train' });
            headBatchNormTrains(pm);
          },
          overrides: {
            optimizer,
            paramGroups: { ...run.paramGroups, groups, learningRate: { lo: baseLr / 2 / lrMult, hi: baseLr / 2 } },
            schedule: (_s, peak, total) => new OneCycle({ maxLearningRate: peak, totalSteps: total, pctStart: o.pctStart ?? 0.3, div: o.div ?? 5 }),
          },
        },
      ];
    },
  };
}
