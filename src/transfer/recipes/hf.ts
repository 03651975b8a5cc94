/**
 * `recipes.hf`: the Hugging Face `Trainer` recipe for BERT-family classifiers, as a recipe object
 * for `fineTune(textModel, texts, { recipe: recipes.hf({...}) })` — the defaults `fineTuneText`
 * uses: AdamW with weight decay 0.01 except on biases and LayerNorm weights, linear warmup (10 %
 * of steps) then linear decay (`get_linear_schedule_with_warmup`), gradient clipping at 1.0
 * (`max_grad_norm`), the best validation epoch restored (`load_best_model_at_end`).
 */
import type { FineTuneTextOptions } from '../fine_tune_text.js';

/** Options of {@link hf}: the recipe's settings (see {@link FineTuneTextOptions} for each). */
export type HfRecipeOptions = Pick<FineTuneTextOptions, 'epochs' | 'learningRate' | 'weightDecay' | 'warmupRatio' | 'warmupSteps' | 'schedule' | 'clipNorm' | 'layerDecay' | 'restoreBestWeights' | 'maxLength' | 'groupByLength'>;

/** A text recipe: the HF settings it fixes. */
export interface TextRecipe {
  readonly name: 'hf';
  readonly options: Readonly<HfRecipeOptions>;
}

/** The Hugging Face text recipe (see the module doc). */
export function hf(o: HfRecipeOptions = {}): TextRecipe {
  return { name: 'hf', options: { ...o } };
}
