/**
 * Saves a PretrainedModel (weights, topology, class names and preprocessing) atomically.
 */
import type { PretrainedModel } from './pretrained_model.js';
import { fileSystem } from '../io/file_system.js';

/**
 * Writes `pm` to `dir` as a TF.js layers model (model.json + weights.bin). Class names, the head's
 * task, preprocessing and the feature layer travel in model.json's `userDefinedMetadata.transferkit`,
 * so {@link loadPretrained} restores them.
 */
export async function saveModel(pm: PretrainedModel, dir: string): Promise<void> {
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
