/**
 * Saves a PretrainedModel (weights, topology, class names and preprocessing) atomically.
 */
import type { PretrainedModel } from './pretrained_model.js';
import { fileSystem } from '../io/file_system.js';
import { isTextModel, type TextModel } from './text/text_model.js';
import type { TransferModel, UnnarrowedModel } from './transfer_model.js';
import { saveTextModel, type SaveTextModelOptions } from './text/save_text_model.js';

/**
 * Writes `pm` to `dir` as a TF.js layers model (model.json + weights.bin). Class names, the head's
 * task, preprocessing and the feature layer travel in model.json's `userDefinedMetadata.transferkit`,
 * so {@link loadPretrained} restores them.
 */
export async function saveModel(pm: PretrainedModel, dir: string): Promise<void>;
/**
 * A text model is written in the Hugging Face layout it came from (config.json, model.safetensors,
 * tokenizer files; see {@link saveTextModel}), so transformers and `loadPretrained(dir, { modality: 'text' })` load it.
 */
export async function saveModel(tm: TextModel, dir: string, options?: SaveTextModelOptions): Promise<void>;
/** Either modality ({@link TransferModel}): the layout that fits it, as above. */
export async function saveModel<M extends TransferModel>(model: M & UnnarrowedModel<M>, dir: string, options?: SaveTextModelOptions): Promise<void>;
export async function saveModel(pm: TransferModel, dir: string, options: SaveTextModelOptions = {}): Promise<void> {
  if (isTextModel(pm)) return saveTextModel(pm, dir, options);
  const handler = fileSystem(dir);
  const withMeta = {
    save: async (artifacts: Parameters<NonNullable<typeof handler.save>>[0]) => {
      artifacts.userDefinedMetadata = {
        ...(artifacts.userDefinedMetadata ?? {}),
        transferkit: {
          classNames: pm.classNames ?? null,
          task: pm.task ?? 'multiclass',
          preprocessing: pm.preprocessing,
          featureLayer: pm.featureLayer,
          inputShape: pm.inputShape,
          source: pm.source,
        },
      };
      return (handler.save as NonNullable<typeof handler.save>)(artifacts);
    },
  };
  await pm.model.save(withMeta);
}
