/** `transferkit models [--json]`: the vision zoo (ids, input size, parameters, weights source) and what is in the local cache. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultCacheDir } from '../../io/download.js';
import { pretrainedConfig, zooIds } from '../../models/vision/registry.js';
import { parse } from '../args.js';

export const USAGE = 'Usage: transferkit models [--json]';

function du(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  if (!fs.existsSync(dir)) return { files, bytes };
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const r = du(p);
      files += r.files;
      bytes += r.bytes;
    } else if (e.isFile()) {
      files++;
      bytes += fs.statSync(p).size;
    }
  }
  return { files, bytes };
}

export async function modelsCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {}, USAGE);
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const cache = defaultCacheDir();
  const cachedFiles = fs.existsSync(cache) ? fs.readdirSync(cache) : [];
  const zoo = zooIds().map((id) => {
    const c = pretrainedConfig(id);
    const sources = (c?.sources ?? []).map((s) => ({ format: s.format, url: s.url, includeTop: s.includeTop, cached: cachedFiles.includes(path.basename(new URL(s.url).pathname)) }));
    return { id, inputSize: c?.inputSize ?? null, licence: c?.licence ?? null, sources };
  });
  const sections = { zoo, cache: { dir: cache, weights: du(cache), features: du(path.join(cache, 'features')), transformers: du(path.join(cache, 'transformers')) } };
  if (values.json === true) {
    console.log(JSON.stringify(sections, null, 2));
    return 0;
  }
  console.log('Vision zoo (loadPretrained(id); --model id):');
  for (const m of zoo) {
    const cached = m.sources.filter((s) => s.cached).length;
    console.log(`  ${m.id.padEnd(24)} ${m.inputSize ? m.inputSize.join('x').padEnd(11) : '-'.padEnd(11)} ${m.sources.length} weight file(s), ${cached} cached  ${m.sources[0]?.format ?? ''}`);
  }
  console.log('\nAlso: any TF.js layers model folder or URL, Keras .h5/.keras via loadPretrained options, and onnx:<folder | hub id> encoders (docs/encoders.md in the transferkit package).');
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
  console.log(`\nCache ${cache}: ${sections.cache.weights.files} files (${mb(sections.cache.weights.bytes)}); embeddings ${sections.cache.features.files} files (${mb(sections.cache.features.bytes)}); transformers.js ${sections.cache.transformers.files} files (${mb(sections.cache.transformers.bytes)})`);
  return 0;
}
