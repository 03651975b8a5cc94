/**
 * `kill -9` at random points of saveModel (vision and text) and checkpoint writes (issue 27):
 * after every kill each of the three paths loads (the previous or the new save, restored by the
 * loader when the kill fell inside the folder swap), a user's file in the model folder survives,
 * and the next save leaves no temporary folder behind.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, saveModel, useBackend } from '../../src/index.js';
import { peekCheckpoint } from '../../src/train/checkpoint.js';
import { tinyHeaded } from '../helpers/tiny_model.js';
import { mulberry32 } from '../../src/utils/random.js';

const ROOT = path.resolve(__dirname, '../..');
const KILLS = Number(process.env.TK_KILLS ?? 24);

/**
 * Starts the save loop and kills it with SIGKILL: `delayMs` after its first complete round, or,
 * with `inWindow`, the moment a save is inside its folder swap (the loop then pauses 300 ms between
 * the two renames, TRANSFERKIT_SWAP_PAUSE_MS, so the kill lands where neither folder is in place).
 */
function runAndKill(dir: string, delayMs: number, inWindow: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'child/save_loop.ts')], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TK_KILL_DIR: dir, ...(inWindow ? { TRANSFERKIT_SWAP_PAUSE_MS: '300' } : {}) },
    });
    let rounds = 0;
    let stderr = '';
    let armed = false;
    let poll: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      rounds += String(d).split('\n').filter((l) => l.startsWith('saved')).length;
      if (armed || rounds < 1) return;
      armed = true;
      if (!inWindow) setTimeout(() => child.kill('SIGKILL'), delayMs);
      else {
        poll = setInterval(() => {
          if (fs.readdirSync(dir).some((n) => n.endsWith('-old'))) child.kill('SIGKILL');
        }, 5);
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      clearInterval(poll);
      if (signal !== 'SIGKILL') reject(new Error(`save loop ended by itself (code ${code}): ${stderr.slice(-2000)}`));
      else resolve(rounds);
    });
  });
}

const leftovers = (dir: string) => fs.readdirSync(dir).filter((n) => n.includes('.tmp-') || n.endsWith('.lock'));

describe('kill -9 during saves', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it(`${KILLS} kills (half inside the folder swap): every path loads after each, no orphans after the next save`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-kill-'));
    const rand = mulberry32(2027);
    // The user's own file inside the model folder: a save must never remove it.
    fs.mkdirSync(path.join(dir, 'model'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'model', 'NOTES.md'), 'my notes');
    let restored = 0;
    let orphansSeen = 0;
    for (let k = 0; k < KILLS; k++) {
      // The first run completes one round before the kill so every path holds a save.
      // Half the kills at random points, half inside the folder swap.
      await runAndKill(dir, Math.floor(rand() * 400), k % 2 === 1);
      orphansSeen += leftovers(dir).length;
      for (const p of ['model', 'ckpt', 'text']) if (!fs.existsSync(path.join(dir, p))) restored++;
      const pm = await loadPretrained(path.join(dir, 'model'));
      expect(pm.model.outputs[0].shape[1]).toBe(3);
      pm.model.dispose();
      const state = await peekCheckpoint(path.join(dir, 'ckpt'));
      expect(state.recipe).toBe('kill-loop');
      const tm = await loadPretrained(path.join(dir, 'text'), { modality: 'text' });
      expect(tm.task).toBe('sequence-classification');
      tm.model.dispose();
      expect(fs.readFileSync(path.join(dir, 'model', 'NOTES.md'), 'utf8')).toBe('my notes');
    }
    // The next save to each path removes what the killed processes left.
    const pm = await tinyHeaded(1);
    await saveModel(pm, path.join(dir, 'model'));
    pm.model.dispose();
    const { writeCheckpoint } = await import('../../src/train/checkpoint.js');
    const again = await tinyHeaded(1);
    await writeCheckpoint(path.join(dir, 'ckpt'), { model: again.model }, { version: 1, recipe: 'kill-loop', stageIndex: 0, epochsDone: 0, step: 0, optimizer: null, schedule: null, rng: 0, history: [] });
    again.model.dispose();
    const tm = await loadPretrained(path.join(dir, 'text'), { modality: 'text' });
    await saveModel(tm, path.join(dir, 'text'));
    tm.model.dispose();
    console.log(`[kill-save] ${KILLS} kills: ${orphansSeen} leftover folders seen after kills, ${restored} paths missing after a kill (restored by the loader); after the next saves: ${leftovers(dir).length} leftovers`);
    expect(leftovers(dir)).toEqual([]);
    expect(restored).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(dir, 'model', 'NOTES.md'), 'utf8')).toBe('my notes');
  }, 600_000);
});
