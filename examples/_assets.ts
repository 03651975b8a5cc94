/**
 * Where the shared real models and data sets live: `$TRANSFERKIT_ASSETS`, else `../shared`
 * beside the repository root.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const assetsDir = process.env.TRANSFERKIT_ASSETS ?? path.resolve(repoRoot, '..', 'shared');

/**
 * The ImageNet backbones in the shared assets, strongest first: MobileNetV2 alpha 1.0 (Keras
 * weights, dequantized from an int8 TFLite export; its BatchNorm is folded, so recipes keep it
 * frozen) and MobileNetV2 alpha 0.35 (Teachable Machine's export). The demos take the first present.
 */
export const BACKBONES = ['models/mobilenet_v2_1.0_224_keras_from_tflite', 'models/mobilenet_v2_0.35_224_teachable'] as const;

/** The strongest backbone folder present under the assets (the weakest's path when none is, for the error message). */
export function strongestBackbone(): string {
  const dirs = BACKBONES.map((b) => path.join(assetsDir, b));
  return dirs.find((d) => fs.existsSync(path.join(d, 'model.json'))) ?? dirs[dirs.length - 1];
}
