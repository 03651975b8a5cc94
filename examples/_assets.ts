/**
 * Where the shared real models and data sets live: `$TRANSFERKIT_ASSETS`, else `../shared`
 * beside the repository root.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const assetsDir = process.env.TRANSFERKIT_ASSETS ?? path.resolve(repoRoot, '..', 'shared');
