/**
 * What the fuzz suite feeds: one target per loader, each with real seed files (written by the
 * library's own writers or by PyTorch, from real models) and the public call that reads them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { unzipSync, zipSync } from 'fflate';
import jpeg from 'jpeg-js';
import { decodeImageAsync, fileSystem, loadKerasArchive, loadKerasH5, loadTfliteWeights, readSafetensors, readTorchCheckpoint, saveKerasH5, writeSafetensors, type SafeTensor } from '../../src/entries/io.js';
import { loadDelimited, loadJsonl } from '../../src/data/text/load_text.js';
import { buildTextModel, TextTokenizer } from '../../src/entries/text.js';
import { loadPretrained, predict, saveModel } from '../../src/index.js';
import { readCheckpoint, writeCheckpoint } from '../../src/train/checkpoint.js';
import { SENTIMENT_VOCAB } from '../helpers/synthetic.js';
import { tinyConvNet } from '../helpers/tiny_model.js';
import { runPythonScript, torchAvailable } from '../helpers/torch.js';
import type { Mutation, Mutator } from './mutate.js';
import { exportModel } from '../fixtures/tflite_writer.js';

export type SeedFiles = Map<string, Uint8Array>;

export interface FuzzTarget {
  name: string;
  /** Seed folders (several where the loader reads several formats); a string says why the target skips. */
  seeds(work: string): Promise<SeedFiles[] | string>;
  /** One mutated input folder from a seed; defaults to one file mutated by {@link defaultMutate}. */
  mutate?(seed: SeedFiles, m: Mutator): { files: SeedFiles; mutation: Mutation };
  /** Reads the folder with the public API; throws what the library throws. */
  run(dir: string): Promise<void>;
}

const read = (f: string) => new Uint8Array(fs.readFileSync(f));

function folder(dir: string): SeedFiles {
  const out: SeedFiles = new Map();
  // Dotfiles (the save's own record of its files) are not read by any loader: not seeds.
  for (const name of fs.readdirSync(dir)) if (!name.startsWith('.') && fs.statSync(path.join(dir, name)).isFile()) out.set(name, read(path.join(dir, name)));
  return out;
}

const JSON_FILE = /\.(json|jsonl)$/;

/** Mutates one file of the seed: JSON files structurally (60 %) or byte-wise, others byte-wise. */
export function defaultMutate(seed: SeedFiles, m: Mutator): { files: SeedFiles; mutation: Mutation } {
  const files = new Map(seed);
  const names = [...files.keys()];
  const name = m.pick(names);
  const src = files.get(name) as Uint8Array;
  const mutation = JSON_FILE.test(name) && m.rand() < 0.6 ? m.json(src, names.filter((n) => n !== name)) : m.bytes(src);
  files.set(name, mutation.bytes);
  if (mutation.escapeAttempt !== undefined) files.delete(mutation.escapeAttempt.from);
  return { files, mutation: { ...mutation, what: `${name}: ${mutation.what}` } };
}

/** Keeps one model per process for the targets that load weights into an architecture. */
let tinyNet: tfl.LayersModel | null = null;
const net = () => (tinyNet ??= tinyConvNet({ seed: 1 }));

const vision: FuzzTarget = {
  name: 'tfjs-layers model.json + shards',
  async seeds(work) {
    const dir = path.join(work, 'seed-tfjs');
    await net().save(fileSystem(dir));
    fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify({ labels: ['a', 'b', 'c'], packageName: 'fuzz' }));
    return [folder(dir)];
  },
  async run(dir) {
    const pm = await loadPretrained(dir);
    pm.model.dispose();
  },
};

const kerasH5: FuzzTarget = {
  name: 'Keras .h5',
  async seeds(work) {
    fs.mkdirSync(work, { recursive: true });
    await saveKerasH5(net(), path.join(work, 'model.h5'));
    return [new Map([['model.h5', read(path.join(work, 'model.h5'))]])];
  },
  async run(dir) {
    await loadKerasH5(net(), path.join(dir, 'model.h5'));
  },
};

const kerasArchive: FuzzTarget = {
  name: 'Keras 3 .keras',
  async seeds(work) {
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    fs.mkdirSync(work, { recursive: true });
    const weightsFile = path.join(work, 'model.weights.h5');
    const f = new h5.File(weightsFile, 'w');
    const layers = f.create_group('layers');
    for (const layer of net().layers) {
      if (layer.weights.length === 0) continue;
      const vars = layers.create_group(layer.name).create_group('vars');
      for (const [i, w] of layer.weights.entries()) vars.create_dataset({ name: String(i), data: Float32Array.from(w.read().dataSync()), shape: w.shape as number[] });
    }
    f.close();
    const members = {
      'config.json': new TextEncoder().encode(JSON.stringify({ class_name: 'Functional', config: { name: net().name } })),
      'metadata.json': new TextEncoder().encode(JSON.stringify({ keras_version: '3.6.0' })),
      'model.weights.h5': read(weightsFile),
    };
    return [new Map([['model.keras', zipSync(members)]])];
  },
  mutate(seed, m) {
    // Half the inputs mutate the archive's bytes, half a member inside a well-formed archive.
    const zip = seed.get('model.keras') as Uint8Array;
    if (m.rand() < 0.5) {
      const mutation = m.bytes(zip);
      return { files: new Map([['model.keras', mutation.bytes]]), mutation: { ...mutation, what: `model.keras: ${mutation.what}` } };
    }
    const members = unzipSync(zip);
    const name = m.pick(Object.keys(members));
    const mutation = JSON_FILE.test(name) && m.rand() < 0.6 ? m.json(members[name], []) : m.bytes(members[name]);
    members[name] = mutation.bytes;
    return { files: new Map([['model.keras', zipSync(members)]]), mutation: { ...mutation, what: `model.keras/${name}: ${mutation.what}` } };
  },
  async run(dir) {
    await loadKerasArchive(net(), path.join(dir, 'model.keras'));
  },
};

const safetensors: FuzzTarget = {
  name: 'safetensors',
  async seeds(work) {
    fs.mkdirSync(work, { recursive: true });
    const file = path.join(work, 'model.safetensors');
    const tensors = new Map(net().weights.map((w) => [w.originalName, { dtype: 'float32' as const, shape: w.shape as number[], data: Float32Array.from(w.read().dataSync()) }]));
    writeSafetensors(file, tensors, { format: 'pt' });
    return [new Map([['model.safetensors', read(file)]])];
  },
  async run(dir) {
    readSafetensors(path.join(dir, 'model.safetensors'));
  },
};

const torchPth: FuzzTarget = {
  name: 'PyTorch .pth',
  async seeds(work) {
    if (!(await torchAvailable())) return 'python3-torch is not installed (apt-get install python3-torch)';
    fs.mkdirSync(work, { recursive: true });
    const seeds: SeedFiles[] = [];
    for (const [name, legacy] of [['model.pth', false], ['legacy.pth', true]] as const) {
      const file = path.join(work, name);
      const script = `import torch, collections
torch.manual_seed(0)
sd = collections.OrderedDict(conv=torch.randn(4, 3, 3, 3), bias=torch.randn(4), steps=torch.tensor([3], dtype=torch.int64), half=torch.randn(2, 2).half(), view=torch.randn(6, 4)[1:3, ::2])
torch.save({'state_dict': sd, 'epoch': 3, 'name': 'fuzz'}, ${JSON.stringify(file)}${legacy ? ', _use_new_zipfile_serialization=False' : ''})`;
      const r = await runPythonScript(['-c', script]);
      if (r.status !== 0) return `torch.save failed: ${r.stderr.slice(-300)}`;
      seeds.push(new Map([['model.pth', read(file)]]));
    }
    return seeds;
  },
  mutate(seed, m) {
    const src = seed.get('model.pth') as Uint8Array;
    // A zip .pth is stored (not deflated): byte mutations reach the pickle and the storages.
    const mutation = m.bytes(src);
    return { files: new Map([['model.pth', mutation.bytes]]), mutation: { ...mutation, what: `model.pth: ${mutation.what}` } };
  },
  async run(dir) {
    readTorchCheckpoint(path.join(dir, 'model.pth'));
  },
};

const hfText: FuzzTarget = {
  name: 'Hugging Face text folder',
  async seeds(work) {
    const tm = buildTextModel({ model_type: 'bert', vocab_size: SENTIMENT_VOCAB.length, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32 }, { task: 'sequence-classification', numLabels: 2, seed: 1 });
    tm.tokenizer = TextTokenizer.fromVocab(SENTIMENT_VOCAB);
    const dir = path.join(work, 'seed-hf');
    await saveModel(tm, dir);
    tm.model.dispose();
    // A second seed with the weights in two shards and an index (weight_map path tricks).
    const sharded = path.join(work, 'seed-hf-sharded');
    fs.cpSync(dir, sharded, { recursive: true });
    const tensors = readSafetensors(path.join(sharded, 'model.safetensors'));
    fs.rmSync(path.join(sharded, 'model.safetensors'));
    const keys = [...tensors.keys()];
    const weightMap: Record<string, string> = {};
    keys.forEach((k, i) => (weightMap[k] = i < keys.length / 2 ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors'));
    for (const shard of new Set(Object.values(weightMap))) {
      writeSafetensors(path.join(sharded, shard), new Map(keys.filter((k) => weightMap[k] === shard).map((k) => [k, tensors.get(k) as SafeTensor])), { format: 'pt' });
    }
    fs.writeFileSync(path.join(sharded, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return [folder(dir), folder(sharded)];
  },
  async run(dir) {
    const tm = await loadPretrained(dir, { modality: 'text' });
    try {
      if (tm.tokenizer !== undefined) predict(tm, ['the film is very good', '']).dispose();
    } finally {
      tm.model.dispose();
    }
  },
};

const images: FuzzTarget = {
  name: 'images (JPEG, PNG, GIF, WebP)',
  async seeds() {
    // The worker runs from the repository root (no __dirname in its ES module).
    const fixtures = path.resolve('test/fixtures/images');
    const w = 24;
    const h = 16;
    const rgba = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
    const jpg = jpeg.encode({ data: Buffer.from(rgba), width: w, height: h }, 80).data;
    return [
      new Map([['image', new Uint8Array(jpg)]]),
      new Map([['image', read(path.join(fixtures, 'pattern.png'))]]),
      new Map([['image', read(path.join(fixtures, 'pattern.gif'))]]),
      new Map([['image', read(path.join(fixtures, 'pattern.webp'))]]),
    ];
  },
  async run(dir) {
    await decodeImageAsync(read(path.join(dir, 'image')), path.join(dir, 'image'));
  },
};

const tables: FuzzTarget = {
  name: 'CSV / JSONL tables',
  async seeds() {
    const rows = Array.from({ length: 12 }, (_, i) => [`"review ${i}, with a comma"`, i % 3 === 0 ? 'neg' : 'pos']);
    const csv = `text,label\n${rows.map((r) => r.join(',')).join('\n')}\n`;
    const jsonl = `${rows.map((r, i) => JSON.stringify({ text: `review ${i}`, label: r[1] })).join('\n')}\n`;
    return [new Map([['data.csv', new TextEncoder().encode(csv)]]), new Map([['data.jsonl', new TextEncoder().encode(jsonl)]])];
  },
  mutate(seed, m) {
    const [name, src] = [...seed.entries()][0];
    if (name.endsWith('.jsonl') && m.rand() < 0.5) {
      // A structural mutation of one line.
      const lines = new TextDecoder().decode(src).split('\n');
      const k = m.int(lines.length - 1);
      const mutation = m.json(new TextEncoder().encode(lines[k]), []);
      lines[k] = new TextDecoder().decode(mutation.bytes);
      return { files: new Map([[name, new TextEncoder().encode(lines.join('\n'))]]), mutation: { ...mutation, what: `${name} line ${k + 1}: ${mutation.what}` } };
    }
    const mutation = m.bytes(src);
    return { files: new Map([[name, mutation.bytes]]), mutation: { ...mutation, what: `${name}: ${mutation.what}` } };
  },
  async run(dir) {
    const [name] = fs.readdirSync(dir);
    const file = path.join(dir, name);
    if (name.endsWith('.jsonl')) await loadJsonl(file);
    else await loadDelimited(file, { text: 'text', label: 'label' });
  },
};

const checkpoint: FuzzTarget = {
  name: 'checkpoint (state.json + weights.bin)',
  async seeds(work) {
    const dir = path.join(work, 'seed-ckpt');
    await writeCheckpoint(dir, { model: net() }, { version: 1, recipe: 'fuzz', stageIndex: 0, epochsDone: 1, step: 4, optimizer: null, schedule: null, rng: 7, history: [] });
    return [folder(dir)];
  },
  async run(dir) {
    await readCheckpoint(dir, { model: net() });
  },
};

const tflite: FuzzTarget = {
  name: 'TFLite flatbuffer',
  async seeds() {
    // Per-channel int8 (the converter's full-integer export) and float16 behind DEQUANTIZE ops.
    return [new Map([['model.tflite', exportModel(net(), 'int8')]]), new Map([['model.tflite', exportModel(net(), 'float16')]])];
  },
  async run(dir) {
    loadTfliteWeights(net(), path.join(dir, 'model.tflite'));
  },
};

export const TARGETS: readonly FuzzTarget[] = [vision, kerasH5, kerasArchive, safetensors, torchPth, tflite, hfText, images, tables, checkpoint];

/** Tensors alive now (the worker checks that inputs leak none). */
export const liveTensors = () => tf.memory().numTensors;
