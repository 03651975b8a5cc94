/**
 * The shared assets the ants-vs-bees benchmarks read (../shared, or TRANSFERKIT_ASSETS): the
 * MobileNetV2-0.35 folder and the photos. Null, after printing the JSON skip line, when absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const assets = process.env.TRANSFERKIT_ASSETS ?? path.resolve(here, '..', '..', 'shared');

export function antsAssets(): { modelDir: string; dataDir: string } | null {
  const modelDir = path.join(assets, 'models/mobilenet_v2_0.35_224_teachable');
  const dataDir = path.join(assets, 'data/hymenoptera/train');
  if (fs.existsSync(modelDir) && fs.existsSync(dataDir)) return { modelDir, dataDir };
  console.log(JSON.stringify({ skipped: `assets not found under ${assets}; set TRANSFERKIT_ASSETS` }));
  return null;
}
