import * as fs from 'node:fs';
import * as path from 'node:path';

/** The shared assets folder: $TRANSFERKIT_ASSETS, else ../shared beside the repo root. */
export const assetsDir = process.env.TRANSFERKIT_ASSETS ?? path.resolve(__dirname, '..', '..', '..', 'shared');

/** Absolute path of an asset, or null (with the reason printed) when it is absent. */
export function asset(rel: string): string | null {
  const p = path.join(assetsDir, rel);
  if (fs.existsSync(p)) return p;
  console.warn(`[skip] asset ${p} is absent (set TRANSFERKIT_ASSETS to the shared folder to run this test)`);
  return null;
}

export const MOBILENET = 'models/mobilenet_v2_0.35_224_teachable';
export const HYMENOPTERA = 'data/hymenoptera/train';
