/**
 * The folder swap under saveModel, checkpoints and text-model saves (issue 27): a save never
 * removes what it did not write, never replaces a file, the swap window is recovered by the next
 * load, and leftovers are removed only when their process is dead.
 */
// eslint-disable-next-line no-restricted-imports -- only instant commands (--version, shutdown, an empty node -e) run synchronously here
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, saveModel, useBackend } from '../../src/index.js';
import { tinyHeaded } from '../helpers/tiny_model.js';
import { buildTextModel, TextTokenizer } from '../../src/entries/text.js';
import { writeDirAtomically } from '../../src/io/_atomic.js';
import { SENTIMENT_VOCAB } from '../helpers/synthetic.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-atomic-'));
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid as number;

/** The bias of the head, which differs between seeds: tells which save a folder holds. */
async function headBias(dir: string): Promise<number[]> {
  const pm = await loadPretrained(dir);
  const w = pm.model.weights.at(-1)!.read();
  const out = Array.from(w.dataSync()).concat(Array.from(pm.model.weights.at(-2)!.read().dataSync().slice(0, 3)));
  pm.model.dispose();
  return out;
}

describe('atomic folder saves', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it("keeps the user's files and folders that the save does not write", async () => {
    const dir = path.join(tmp(), 'model');
    fs.mkdirSync(path.join(dir, 'notes'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'README.md'), 'mine');
    fs.writeFileSync(path.join(dir, 'notes', 'a.txt'), 'also mine');
    const pm = await tinyHeaded(1);
    await saveModel(pm, dir);
    await saveModel(pm, dir); // twice: the second swap carries them again
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('mine');
    expect(fs.readFileSync(path.join(dir, 'notes', 'a.txt'), 'utf8')).toBe('also mine');
    expect(fs.readdirSync(dir).sort()).toEqual(['README.md', 'model.json', 'notes', 'weights.bin']);
    pm.model.dispose();
  });

  it('refuses to replace a file with a folder, and leaves the file alone', async () => {
    const file = path.join(tmp(), 'model');
    fs.writeFileSync(file, 'precious');
    const pm = await tinyHeaded(1);
    await expect(saveModel(pm, file)).rejects.toMatchObject({ code: 'E_IO_WRITE', message: expect.stringMatching(/exists and is not a folder.*choose another path/) });
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['model']);
    pm.model.dispose();
  });

  it('a save killed between its two renames is finished by the next load (new folder complete)', async () => {
    const root = tmp();
    const dir = path.join(root, 'model');
    const [a, b] = [await tinyHeaded(1), await tinyHeaded(2)];
    await saveModel(a, dir);
    await saveModel(b, path.join(root, 'staged'));
    const want = await headBias(path.join(root, 'staged'));
    // The state a SIGKILL inside the window leaves: old folder aside, complete new one beside it.
    const id = `${deadPid()}-abc-def`;
    fs.renameSync(dir, path.join(root, `.model.tmp-${id}-old`));
    fs.renameSync(path.join(root, 'staged'), path.join(root, `.model.tmp-${id}`));
    expect(fs.existsSync(dir)).toBe(false);
    expect(await headBias(dir)).toEqual(want);
    // The next save cleans the rest.
    await saveModel(a, dir);
    expect(fs.readdirSync(root)).toEqual(['model']);
    tf.dispose([a.model, b.model] as never);
  });

  it('without the new folder, the next load puts the old one back', async () => {
    const root = tmp();
    const dir = path.join(root, 'model');
    const a = await tinyHeaded(1);
    await saveModel(a, dir);
    const want = await headBias(dir);
    fs.renameSync(dir, path.join(root, `.model.tmp-${deadPid()}-abc-def-old`));
    expect(await headBias(dir)).toEqual(want);
    expect(fs.readdirSync(root)).toEqual(['model']);
    a.model.dispose();
  });

  it("removes dead processes' leftovers on the next save, never a running process's", async () => {
    const root = tmp();
    const dir = path.join(root, 'model');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const dead = path.join(root, `.model.tmp-${deadPid()}-k1-x1`);
      // Made now, by a process that started before: in use.
      const live = path.join(root, `.model.tmp-${sleeper.pid}-${Date.now().toString(36)}-x2`);
      const other = path.join(root, `.other.tmp-${deadPid()}-k3-x3`);
      for (const d of [dead, `${dead}-old`, live, other]) fs.mkdirSync(d);
      const pm = await tinyHeaded(1);
      await saveModel(pm, dir);
      expect(fs.readdirSync(root).sort()).toEqual([path.basename(live), path.basename(other), 'model'].sort());
      pm.model.dispose();
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
  it("a leftover carrying this process's pid but not made by it (containers reuse pids) is recovered", async () => {
    const root = tmp();
    const dir = path.join(root, 'model');
    const a = await tinyHeaded(1);
    await saveModel(a, dir);
    const want = await headBias(dir);
    fs.renameSync(dir, path.join(root, `.model.tmp-${process.pid}-${(Date.now() - 60_000).toString(36)}-zzz-old`));
    expect(await headBias(dir)).toEqual(want);
    a.model.dispose();
  });

  it('of two interrupted saves the later one is restored (ordered by time, not by pid)', async () => {
    const root = tmp();
    const dir = path.join(root, 'model');
    const [a, b] = [await tinyHeaded(1), await tinyHeaded(2)];
    await saveModel(a, path.join(root, 'older'));
    await saveModel(b, path.join(root, 'newer'));
    const want = await headBias(path.join(root, 'newer'));
    const t = Date.now() - 60_000;
    // The newer save has the lexically smaller pid.
    fs.renameSync(path.join(root, 'older'), path.join(root, `.model.tmp-99999-${t.toString(36)}-a-old`));
    fs.renameSync(path.join(root, 'newer'), path.join(root, `.model.tmp-100000-${(t + 5000).toString(36)}-b-old`));
    expect(await headBias(dir)).toEqual(want);
    tf.dispose([a.model, b.model] as never);
  });

  it('saves through a symlink to a folder, keeping the link', async () => {
    const root = tmp();
    fs.mkdirSync(path.join(root, 'real'));
    fs.symlinkSync(path.join(root, 'real'), path.join(root, 'link'));
    const pm = await tinyHeaded(1);
    await saveModel(pm, path.join(root, 'link'));
    await saveModel(pm, path.join(root, 'link'));
    expect(fs.lstatSync(path.join(root, 'link')).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(path.join(root, 'real', 'model.json'))).toBe(true);
    expect(fs.readdirSync(root).sort()).toEqual(['link', 'real']);
    pm.model.dispose();
  });

  it("drops format files this save does not write (a tokenizer the new model lacks, a stale pytorch_model.bin), keeps the user's", async () => {
    const dir = path.join(tmp(), 'bert');
    const config = { model_type: 'bert', vocab_size: SENTIMENT_VOCAB.length, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32 };
    const withTok = buildTextModel(config, { task: 'sequence-classification', numLabels: 2, seed: 1 });
    withTok.tokenizer = TextTokenizer.fromVocab(SENTIMENT_VOCAB);
    await saveModel(withTok, dir);
    fs.writeFileSync(path.join(dir, 'NOTES.md'), 'mine');
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'stale weights of another model');
    const bare = buildTextModel(config, { task: 'sequence-classification', numLabels: 2, seed: 2 });
    await saveModel(bare, dir);
    const names = fs.readdirSync(dir);
    expect(names).toContain('NOTES.md');
    expect(names.filter((n) => n.startsWith('tokenizer') || n === 'vocab.txt' || n === 'pytorch_model.bin')).toEqual([]);
    tf.dispose([withTok.model, bare.model] as never);
  });

  it('concurrent saves to one path (in this process and from another) end complete, keeping the user file', async () => {
    const root = tmp();
    const dir = path.join(root, 'm');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'README.md'), 'mine');
    const save = (k: number) => writeDirAtomically(dir, async (t) => {
      fs.writeFileSync(path.join(t, 'a.txt'), String(k));
      await new Promise((r) => setTimeout(r, 1));
      fs.writeFileSync(path.join(t, 'b.txt'), String(k));
    });
    // Another process saving to the same path all along.
    const script = `import { writeDirAtomically } from ${JSON.stringify(path.resolve(__dirname, '../../src/io/_atomic.ts'))};
import * as fs from 'node:fs';
for (let k = 0; k < 40; k++) await writeDirAtomically(${JSON.stringify(dir)}, async (t) => { fs.writeFileSync(t + '/a.txt', 'x' + k); fs.writeFileSync(t + '/b.txt', 'x' + k); });`;
    const other = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    other.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<number | null>((r) => other.on('close', r));
    for (let round = 0; round < 15; round++) {
      await Promise.all(Array.from({ length: 6 }, (_, k) => save(round * 10 + k)));
      const [a, b] = ['a.txt', 'b.txt'].map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
      expect(a).toBe(b); // one save's files, never a mix
      expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('mine');
    }
    expect(await done, stderr).toBe(0);
    expect(fs.readdirSync(root)).toEqual(['m']);
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('mine');
  }, 120_000);
});
