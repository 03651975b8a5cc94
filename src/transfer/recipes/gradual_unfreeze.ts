/**
 * `recipes.gradualUnfreeze`: Lightning's `BackboneFinetuning(unfreeze_backbone_at_epoch,
 * backbone_initial_ratio_lr=0.1, should_align=True, train_bn=True)` over `epochs`: the backbone is
 * frozen (BatchNorm still training) until `unfreezeAtEpoch`, then joins the SAME optimizer as a new
 * parameter group at 0.1x the head's rate, doubling every epoch up to the head's rate; the head
 * trains at a constant `learningRate` (default 1e-3).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';
import type { Optimizer } from '../../optimizers/optimizer.js';
import { ConstantSchedule } from '../../schedules/constant.js';
import { createOptimizer } from '../../train/optimizers.js';
import type { BatchNormMode } from '../../layers/batch_norm.js';
import type { FineTuneOptions } from '../fine_tune.js';
import { freeze, unfreeze } from '../freeze.js';
import { checkInt, checkRate, headBatchNormTrains, headUnfreeze, type FineTuneRecipe } from './recipe.js';

/** Options of {@link gradualUnfreeze}, named after Lightning's. */
export interface GradualUnfreezeOptions {
  /** Epochs of the whole run (default 5). */
  epochs?: number;
  /** The head's constant rate (default 1e-3). */
  learningRate?: number;
  /** Epoch (0-based, over the whole run) at which the backbone joins. Default `min(10, floor(epochs / 2))` (Lightning's default 10 assumes long runs). */
  unfreezeAtEpoch?: number;
  /** Backbone rate / head rate when it joins (Lightning `backbone_initial_ratio_lr`, 0.1). */
  backboneInitialRatioLr?: number;
  /** Backbone rate multiplier per later epoch (Lightning's default `lambda_func`, 2). */
  backboneLrGrowth?: number;
  /** Cap the backbone rate at the head's (Lightning `should_align`, true). */
  shouldAlign?: boolean;
  /** BatchNorm mode once unfrozen (default `'train'`). */
  bn?: BatchNormMode;
  /** BatchNorm mode of the frozen backbone (default `'train'`: Lightning's `train_bn`). */
  frozenBn?: BatchNormMode;
}

/** Lightning's BackboneFinetuning (see the module doc). */
export function gradualUnfreeze(o: GradualUnfreezeOptions = {}): FineTuneRecipe {
  const epochs = checkInt('gradualUnfreeze', 'epochs', o.epochs ?? 5);
  const lr = checkRate('gradualUnfreeze', 'learningRate', o.learningRate ?? 1e-3);
  const at = o.unfreezeAtEpoch ?? Math.min(10, Math.floor(epochs / 2));
  if (!Number.isInteger(at) || at < 0 || at > epochs) {
    throw new TransferKitError('E_BAD_OPTION', `recipes.gradualUnfreeze: unfreezeAtEpoch must be an integer in [0, epochs=${epochs}]. Received: unfreezeAtEpoch=${at}.`);
  }
  const ratio = o.backboneInitialRatioLr ?? 0.1;
  const growth = o.backboneLrGrowth ?? 2;
  return {
    name: 'gradual-unfreeze',
    stages: (pm, run) => {
      // One optimizer across both phases (Lightning adds the backbone as a new param group).
      const spec = run.optimizer ?? 'adam';
      let shared: Optimizer | null = null;
      // Phase 1 trains the head and (train_bn) the backbone's BatchNorm parameters; recorded by its
      // setup, which also runs when a resume skips the phase, so a rebuilt group holds the same set.
      let phase1Vars: tf.Variable[] = [];
      const constant: FineTuneOptions['schedule'] = (_s, peak) => new ConstantSchedule(peak);
      return [
        {
          name: 'head', epochs: at, learningRate: lr,
          setup: () => {
            freeze(pm, 'backbone', { bn: o.frozenBn ?? 'train' });
            headUnfreeze(pm);
            phase1Vars = pm.model.trainableWeights.map((w) => w.read() as tf.Variable);
          },
          overrides: { optimizer: (groups, peak) => (shared = createOptimizer(spec, groups, peak, run.weightDecay)), schedule: run.schedule ?? constant, paramGroups: undefined },
          keepOptimizer: true,
        },
        {
          name: 'fine-tune', epochs: epochs - at, learningRate: lr,
          setup: () => {
            unfreeze(pm, 'all', { bn: o.bn ?? 'train' });
            headBatchNormTrains(pm);
          },
          overrides: {
            optimizer: (groups, peak) => {
              // After a resume the head phase was skipped: rebuild its group, then add the backbone.
              shared ??= createOptimizer(spec, [{ params: phase1Vars, name: 'group_0' }], peak, run.weightDecay);
              shared.addParamGroup({ params: groups.flatMap((g) => g.params), lrScale: ratio, name: 'backbone' });
              return shared;
            },
            schedule: run.schedule ?? constant,
            paramGroups: undefined,
          },
          onEpochBegin: (j, opt) => {
            const g = opt.group('backbone');
            if (g === undefined) return;
            // Lightning: first epoch current_lr * ratio; then previous * lambda, aligned to the head's rate.
            if (j === 0) g.lrScale = ratio;
            else g.lrScale = o.shouldAlign === false ? g.lrScale * growth : Math.min(g.lrScale * growth, 1);
          },
        },
      ];
    },
  };
}
