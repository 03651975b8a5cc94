/**
 * The built-in recipes as objects, one file each (`recipes.twoStage()`, `recipes.fastai()`, ...),
 * and the mapping from fineTune's older string recipes and flat options onto them.
 */
import { TransferKitError } from '../../errors.js';
import type { FineTuneOptions } from '../fine_tune.js';
import { custom } from './custom.js';
import { fastai } from './fastai.js';
import { featureExtraction } from './feature_extraction.js';
import { full } from './full.js';
import { gradualUnfreeze } from './gradual_unfreeze.js';
import { hf } from './hf.js';
import type { FineTuneRecipe } from './recipe.js';
import { twoStage } from './two_stage.js';

/**
 * The built-in recipes, each reproducing its anchor: Keras' `twoStage`, fastai's `fastai`
 * (`Learner.fine_tune`), Lightning's `gradualUnfreeze` (`BackboneFinetuning`), `featureExtraction`
 * (head only), `full`, `custom` (explicit stages) and, for text models, Hugging Face's `hf`.
 * @example
 * ```ts
 * await fineTune(model, train, { recipe: recipes.fastai({ freezeEpochs: 1, epochs: 5, baseLr: 2e-3 }) });
 * ```
 */
export const recipes = { twoStage, fastai, gradualUnfreeze, featureExtraction, full, custom, hf };

/** fineTune options that belong to a recipe: with a recipe object they go to its factory. */
export const RECIPE_OPTION_NAMES = ['headEpochs', 'epochs', 'headLearningRate', 'learningRate', 'baseLr', 'lrMult', 'pctStart', 'div', 'unfreezeAtEpoch', 'backboneInitialRatioLr', 'backboneLrGrowth', 'shouldAlign', 'unfreeze', 'bn', 'frozenBn', 'stages'] as const;

/** The recipe a string `recipe` (or `stages`) and the flat options describe, as before recipes were objects. */
export function recipeFromOptions(o: FineTuneOptions): FineTuneRecipe {
  if (o.stages !== undefined) {
    if (o.recipe !== undefined && o.recipe !== 'custom') throw new TransferKitError('E_BAD_OPTION', `fineTune: pass either \`stages\` or a recipe, not both. Received: recipe=${String(o.recipe)} with ${o.stages.length} stages.`);
    return custom(o.stages);
  }
  const name = o.recipe ?? 'two-stage';
  switch (name) {
    case 'two-stage':
      return twoStage({ headEpochs: o.headEpochs, epochs: o.epochs, headLearningRate: o.headLearningRate, learningRate: o.learningRate, unfreeze: o.unfreeze, bn: o.bn, frozenBn: o.frozenBn });
    case 'fine-tune':
      return fastai({ freezeEpochs: o.headEpochs, epochs: o.epochs, baseLr: o.baseLr, lrMult: o.lrMult, pctStart: o.pctStart, div: o.div, bn: o.bn, frozenBn: o.frozenBn });
    case 'gradual-unfreeze':
      return gradualUnfreeze({ epochs: o.epochs, learningRate: o.learningRate, unfreezeAtEpoch: o.unfreezeAtEpoch, backboneInitialRatioLr: o.backboneInitialRatioLr, backboneLrGrowth: o.backboneLrGrowth, shouldAlign: o.shouldAlign, bn: o.bn, frozenBn: o.frozenBn });
    case 'feature-extraction':
    case 'head-only':
      return featureExtraction({ epochs: o.headEpochs, learningRate: o.headLearningRate, frozenBn: o.frozenBn });
    case 'full':
      return full({ epochs: o.epochs, learningRate: o.learningRate });
    case 'custom':
      throw new TransferKitError('E_BAD_OPTION', "fineTune: recipe 'custom' needs `stages` (or pass recipes.custom([...])).");
    default:
      throw new TransferKitError('E_BAD_OPTION', `fineTune: unknown recipe. Received: recipe=${String(name)}. Choose 'two-stage', 'fine-tune', 'gradual-unfreeze', 'feature-extraction' (or 'head-only') or 'full', or pass a recipe object (recipes.twoStage(), recipes.fastai(), ...).`);
  }
}

export type { FineTuneRecipe, RecipeStage } from './recipe.js';
export type { TwoStageOptions } from './two_stage.js';
export type { FastaiOptions } from './fastai.js';
export type { GradualUnfreezeOptions } from './gradual_unfreeze.js';
export type { FeatureExtractionOptions } from './feature_extraction.js';
export type { FullOptions } from './full.js';
export type { HfRecipeOptions, TextRecipe } from './hf.js';
