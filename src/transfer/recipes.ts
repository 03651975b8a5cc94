/**
 * The recipes of `fineTune` as stage plans: each stage's trainability setup (cumulative, replayed
 * on resume) and its training settings. See fine_tune.ts for the anchors each recipe follows.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import { AdamW } from '../optimizers/adam.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { ConstantSchedule } from '../schedules/constant.js';
import { OneCycle } from '../schedules/one_cycle.js';
import { createOptimizer, type OptimizerSpec } from '../train/optimizers.js';
import { defaultUnfreezeFrom } from './block_boundaries.js';
import type { FineTuneOptions, FineTuneStage, Recipe, Stage } from './fine_tune.js';
import { freeze, unfreeze } from './freeze.js';

/** fastai's Adam: decoupled weight decay 0.01, betas (0.9, 0.99), eps 1e-5 (`fastai.optimizer.Adam`). */
const fastaiAdam: OptimizerSpec = (groups, lr) => new AdamW(groups, { learningRate: lr, betas: [0.9, 0.99], epsilon: 1e-5, weightDecay: 0.01 });

/** One stage of a recipe: its trainability setup (cumulative) and its training settings. */
export interface StagePlan {
  stage: Stage;
  epochs: number;
  lr: number;
  setup: () => void;
  overrides: Partial<FineTuneOptions>;
  /** The optimizer lives on into the next stage (not disposed; its state is checkpointed). */
  keepOptimizer?: boolean;
  /** Called before each epoch of the stage (0-based epoch within the stage). */
  onEpochBegin?: (epochInStage: number, optimizer: Optimizer) => void;
}

/** The stages of `recipe`, in order. */
export function planStages(pm: PretrainedModel, recipe: Recipe, options: FineTuneOptions): StagePlan[] {
  const epochs = options.epochs ?? 5;
  const headUnfreeze = () => unfreeze(pm, { from: pm.headLayers[0] ?? pm.featureLayer });
  // The `bn` policies protect pretrained statistics; a new head's BatchNorm (replaceHead's
  // `batchNorm`, fastai's head) has none to protect and trains fully, as in fastai.
  const headBatchNormTrains = () => {
    const bn = pm.headLayers.filter((n) => pm.model.getLayer(n).getClassName() === 'BatchNormalization');
    if (bn.length > 0) unfreeze(pm, bn);
  };
  if (recipe === 'custom') return customStages(pm, options.stages ?? []);
  if (recipe === 'full') return [{ stage: 'full', epochs, lr: options.learningRate ?? 1e-4, setup: () => unfreeze(pm, 'all'), overrides: {} }];
  if (recipe === 'gradual-unfreeze') {
    // Lightning BackboneFinetuning: one optimizer across both phases.
    const lr = options.learningRate ?? 1e-3;
    const at = options.unfreezeAtEpoch ?? Math.min(10, Math.floor(epochs / 2));
    if (!Number.isInteger(at) || at < 0 || at > epochs) {
      throw new TransferKitError('E_BAD_OPTION', `fineTune: unfreezeAtEpoch must be an integer in [0, epochs=${epochs}]. Received: unfreezeAtEpoch=${at}.`);
    }
    const spec = options.optimizer ?? 'adam';
    let shared: Optimizer | null = null;
    // Phase 1 trains the head and (train_bn) the backbone's BatchNorm parameters; recorded by its
    // setup, which also runs when a resume skips the phase, so a rebuilt group holds the same set.
    let phase1Vars: tf.Variable[] = [];
    const constant: FineTuneOptions['schedule'] = (_s, peak) => new ConstantSchedule(peak);
    const ratio = options.backboneInitialRatioLr ?? 0.1;
    const growth = options.backboneLrGrowth ?? 2;
    return [
      {
        stage: 'head', epochs: at, lr,
        setup: () => {
          freeze(pm, 'backbone', { bn: options.frozenBn ?? 'train' });
          headUnfreeze();
          phase1Vars = pm.model.trainableWeights.map((w) => w.read() as tf.Variable);
        },
        overrides: { optimizer: (groups, peak) => (shared = createOptimizer(spec, groups, peak, options.weightDecay)), schedule: options.schedule ?? constant, paramGroups: undefined },
        keepOptimizer: true,
      },
      {
        stage: 'fine-tune', epochs: epochs - at, lr,
        setup: () => {
          unfreeze(pm, 'all', { bn: options.bn ?? 'train' });
          headBatchNormTrains();
        },
        overrides: {
          optimizer: (groups, peak) => {
            // After a resume the head phase was skipped: rebuild its group, then add the backbone.
            shared ??= createOptimizer(spec, [{ params: phase1Vars, name: 'group_0' }], peak, options.weightDecay);
            shared.addParamGroup({ params: groups.flatMap((g) => g.params), lrScale: ratio, name: 'backbone' });
            return shared;
          },
          schedule: options.schedule ?? constant,
          paramGroups: undefined,
        },
        onEpochBegin: (j, opt) => {
          const g = opt.group('backbone');
          if (g === undefined) return;
          // Lightning: first epoch current_lr * ratio; then previous * lambda, aligned to the head's rate.
          if (j === 0) g.lrScale = ratio;
          else g.lrScale = options.shouldAlign === false ? g.lrScale * growth : Math.min(g.lrScale * growth, 1);
        },
      },
    ];
  }
  if (recipe === 'fine-tune') {
    // fastai Learner.fine_tune, stage for stage (see the module comment).
    const baseLr = options.baseLr ?? 2e-3;
    const groups = options.paramGroups?.groups ?? 3;
    const optimizer = options.optimizer ?? fastaiAdam;
    return [
      {
        stage: 'head', epochs: options.headEpochs ?? 1, lr: baseLr,
        setup: () => {
          freeze(pm, 'backbone', { bn: options.frozenBn ?? 'train' });
          headUnfreeze();
        },
        overrides: { optimizer, paramGroups: { ...options.paramGroups, groups, learningRate: { hi: baseLr } }, schedule: (_s, peak, total) => new OneCycle({ maxLearningRate: peak, totalSteps: total, pctStart: 0.99 }) },
      },
      {
        stage: 'fine-tune', epochs, lr: baseLr / 2,
        setup: () => {
          unfreeze(pm, 'all', { bn: options.bn ?? 'train' });
          headBatchNormTrains();
        },
        overrides: {
          optimizer,
          paramGroups: { ...options.paramGroups, groups, learningRate: { lo: baseLr / 2 / (options.lrMult ?? 100), hi: baseLr / 2 } },
          schedule: (_s, peak, total) => new OneCycle({ maxLearningRate: peak, totalSteps: total, pctStart: options.pctStart ?? 0.3, div: options.div ?? 5 }),
        },
      },
    ];
  }
  const plans: StagePlan[] = [{
    stage: 'head', epochs: options.headEpochs ?? 5, lr: options.headLearningRate ?? 1e-3,
    setup: () => {
      freeze(pm, 'backbone', { bn: options.frozenBn ?? 'frozen' });
      headUnfreeze();
    },
    overrides: {},
  }];
  if (recipe === 'two-stage') {
    plans.push({
      stage: 'fine-tune', epochs, lr: options.learningRate ?? 1e-4,
      setup: () => {
        unfreeze(pm, options.unfreeze ?? { from: defaultUnfreezeFrom(pm) }, { bn: options.bn ?? 'train-affine' });
        headBatchNormTrains();
      },
      overrides: {},
    });
  }
  return plans;
}


/** User-defined stages: each freezes everything, then unfreezes its `trainable` layers. */
function customStages(pm: PretrainedModel, stages: FineTuneStage[]): StagePlan[] {
  if (stages.length === 0) throw new TransferKitError('E_BAD_OPTION', 'fineTune: `stages` is empty. Pass at least one stage ({ epochs, trainable, learningRate }).');
  const names = new Set<string>();
  return stages.map((st, i) => {
    const name = st.name ?? `stage_${i}`;
    if (names.has(name)) throw new TransferKitError('E_BAD_OPTION', `fineTune: two stages are named '${name}'. Stage names must be unique (they label logs and checkpoints).`);
    names.add(name);
    if (!(Number.isInteger(st.epochs) && st.epochs >= 0)) {
      throw new TransferKitError('E_BAD_OPTION', `fineTune: stages[${i}].epochs must be an integer >= 0. Received: ${st.epochs}.`);
    }
    const lr = st.learningRate ?? 1e-3;
    if (!(lr > 0)) throw new TransferKitError('E_BAD_OPTION', `fineTune: stages[${i}].learningRate must be > 0. Received: ${lr}.`);
    const schedule = st.schedule;
    return {
      stage: name,
      epochs: st.epochs,
      lr,
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
  });
}
