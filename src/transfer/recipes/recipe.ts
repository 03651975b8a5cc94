/**
 * What a fine-tuning recipe is: an object that says, for a model, which stages to run — which
 * layers each stage trains (its `setup`) and how (epochs, peak rate, optimizer, schedule). The
 * built-in recipes (`recipes.twoStage`, `recipes.fastai`, `recipes.gradualUnfreeze`,
 * `recipes.featureExtraction`, `recipes.full`, `recipes.custom`) are such objects; a recipe of
 * your own implements the same interface with the same public pieces (`freeze`, `unfreeze`,
 * schedules, optimizers) and runs on the same loop, with checkpoints, resume and Ctrl-C.
 */
import { TransferKitError } from '../../errors.js';
import type { PretrainedModel } from '../../models/pretrained_model.js';
import type { Optimizer } from '../../optimizers/optimizer.js';
import type { FineTuneOptions } from '../fine_tune.js';
import { unfreeze } from '../freeze.js';

/** One stage of a recipe. */
export interface RecipeStage {
  /** Name in logs, progress events and checkpoints (`'head'`, `'fine-tune'`, ...). */
  name: string;
  /** Epochs of the stage (0 skips it; its `setup` still runs). */
  epochs: number;
  /** Peak learning rate of the stage. */
  learningRate: number;
  /**
   * Sets which layers train in this stage (`freeze` / `unfreeze`). Setups are cumulative and run
   * for every stage in order — also for stages a resume skips — so they must draw no random numbers.
   */
  setup(): void;
  /** Run options this stage overrides: `optimizer`, `schedule`, `paramGroups`, `weightDecay`. */
  overrides?: Pick<FineTuneOptions, 'optimizer' | 'schedule' | 'paramGroups' | 'weightDecay'>;
  /** The optimizer lives on into the next stage (not disposed; its state is checkpointed). */
  keepOptimizer?: boolean;
  /** Called before each epoch of the stage (0-based within the stage), e.g. to rescale a parameter group. */
  onEpochBegin?(epochInStage: number, optimizer: Optimizer): void;
}

/** A fine-tuning recipe (see the module doc). */
export interface FineTuneRecipe {
  /** Name written into checkpoints: a resume must use the same recipe. */
  readonly name: string;
  /** The stages to run on `model`, given the run's options (their optimizer, schedule and weight decay apply unless a stage overrides them). */
  stages(model: PretrainedModel, run: Readonly<FineTuneOptions>): RecipeStage[];
}

/** Refuses a value that is not an integer >= `min`, naming the recipe and the option. */
export function checkInt(recipe: string, name: string, v: number, min = 0): number {
  if (!(Number.isInteger(v) && v >= min)) throw new TransferKitError('E_BAD_OPTION', `recipes.${recipe}: \`${name}\` must be an integer >= ${min}. Received: ${name}=${v}.`);
  return v;
}

/** Refuses a rate that is not > 0, naming the recipe and the option. */
export function checkRate(recipe: string, name: string, v: number): number {
  if (!(v > 0)) throw new TransferKitError('E_BAD_OPTION', `recipes.${recipe}: \`${name}\` must be > 0. Received: ${name}=${v}.`);
  return v;
}

/** Every layer of the head (after the feature layer) trains. */
export function headUnfreeze(pm: PretrainedModel): void {
  unfreeze(pm, { from: pm.headLayers[0] ?? pm.featureLayer });
}

/**
 * The `bn` policies protect pretrained statistics; a new head's BatchNorm (replaceHead's
 * `batchNorm`, fastai's head) has none to protect and trains fully, as in fastai.
 */
export function headBatchNormTrains(pm: PretrainedModel): void {
  const bn = pm.headLayers.filter((n) => pm.model.getLayer(n).getClassName() === 'BatchNormalization');
  if (bn.length > 0) unfreeze(pm, bn);
}
