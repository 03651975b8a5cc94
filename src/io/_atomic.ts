/**
 * Atomic folder writes for models, checkpoints and text models.
 *
 * A save writes everything into a temporary sibling folder `.<name>.tmp-<pid>-<time>-<rand>`, then
 * swaps it in: the old folder is renamed aside to `<tmp>-old`, the new one renamed into place, the
 * old one deleted. On top of "a crash leaves the old or the new folder, never a mix":
 *
 * - **Nothing but the format's own files is replaced.** Each writer names the files of its format
 *   (`owns`: model.json and weight shards; config, weights and tokenizer files of a Hugging Face
 *   folder; state.json and weights.bin of a checkpoint). Every other entry of the old folder (a
 *   README, a user's notes, another tool's files) is carried into the new folder before the swap,
 *   as hard links (a copy where links are refused), so it survives the old folder's deletion. A
 *   format file the new save does not write (the tokenizer of a model that has none now, a
 *   `pytorch_model.bin` beside a new `model.safetensors`) is not carried: it would describe
 *   another model, and loaders would pick it up.
 * - **One save per path at a time.** Saves to one path queue in this process and take a lock file
 *   `.<name>.lock` across processes (a lock whose owner died is taken over), so concurrent saves
 *   end with one complete result and no carried file lost in between.
 * - **The swap window is recoverable.** Between the two renames the path holds nothing. A process
 *   killed there leaves `<tmp>` (complete: the swap starts only after the fill finished) and
 *   `<tmp>-old`. The next load or save of that path, seeing no folder and the leftovers of a dead
 *   process, finishes the swap (the new folder) or, without it, puts the old folder back.
 * - **No litter.** Leftovers of dead processes are removed by the next save to the same path;
 *   leftovers of a running save are never touched.
 *
 * "Dead" is decided by the process id in the name, and because containers give every run the
 * same pid, also by when that pid's process started (Linux `/proc`): a process started after a
 * leftover was made did not make it. This process's own pid counts as alive only for the saves it
 * is running now. Linux's `renameat2(RENAME_EXCHANGE)` would close the swap window, but Node
 * exposes no portable exchange, so the window is closed by recovery instead.
 */
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';

const TMP = /^\.(.+)\.tmp-(\d+)-([0-9a-z]+)-([0-9a-z]+)(-old)?$/;

/** Temporary folders and locks this process is using now (its own pid is "alive" only for these). */
const ours = new Set<string>();
/** Saves queued per target path in this process. */
const queues = new Map<string, Promise<void>>();

/** Milliseconds since the epoch at which process `pid` started (Linux), or null when unknown. */
function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime, clock ticks since boot) counted after the parenthesised command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return null;
    return btime * 1000 + (ticks / 100) * 1000; // USER_HZ is 100 on every Linux Node runs on
  } catch {
    return null;
  }
}

/** True when the leftover `name` (made by `pid` at `createdMs`) may still be in use. */
function inUse(name: string, pid: number, createdMs: number): boolean {
  if (pid === process.pid) return ours.has(name);
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const started = processStart(pid);
  // A 2 s margin for clock granularity: a process started after the leftover was made did not make it.
  return started === null || started <= createdMs + 2000;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

interface Leftover {
  name: string;
  created: number;
  old: boolean;
}

/** Leftovers of saves to `dir` by processes that are no longer running. */
async function deadLeftovers(dir: string): Promise<Leftover[]> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return [];
  }
  const out: Leftover[] = [];
  for (const name of names) {
    const m = TMP.exec(name);
    if (m === null || m[1] !== base) continue;
    const created = parseInt(m[3], 36);
    const owner = m[5] !== undefined ? name.slice(0, -'-old'.length) : name;
    if (inUse(owner, Number(m[2]), created)) continue;
    out.push({ name, created, old: m[5] !== undefined });
  }
  return out;
}

/**
 * Repairs the path `dir` after a save killed inside its swap window: when `dir` is missing and a
 * dead process left `<tmp>-old`, the complete `<tmp>` is moved into place (or, without it, the old
 * folder is put back). With `clean`, every other leftover of dead processes is removed too.
 * Returns true when it restored a folder. Never throws: recovery is best effort, and the caller's
 * own read or write reports what is still wrong.
 */
export async function recoverInterruptedSave(dir: string, clean = false): Promise<boolean> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  let restored = false;
  try {
    const leftovers = await deadLeftovers(target);
    if (!(await exists(target))) {
      // The most recent interrupted save wins.
      const olds = leftovers.filter((l) => l.old).sort((a, b) => b.created - a.created);
      for (const o of olds) {
        const tmp = path.join(parent, o.name.slice(0, -'-old'.length));
        const from = (await exists(tmp)) ? tmp : path.join(parent, o.name);
        try {
          await fs.rename(from, target);
          restored = true;
          break;
        } catch {
          // Someone else restored it first, or the parent is read-only: leave it to the caller.
        }
      }
    }
    if (clean) {
      for (const l of await deadLeftovers(target)) {
        await fs.rm(path.join(parent, l.name), { recursive: true, force: true }).catch(() => undefined);
      }
    }
  } catch {
    // Best effort (see above).
  }
  return restored;
}

/**
 * Hard-links (or copies) into `to` every entry of `from` that `to` does not hold and that is not
 * one of the format's own files (`owns`, relative paths). Unreadable entries are reported in
 * `lost` and left where they are (the old folder is then kept aside, see writeDirAtomically).
 */
async function carryOver(from: string, to: string, owns: (rel: string) => boolean, prefix: string, lost: string[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(path.join(from, prefix), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') lost.push(prefix);
    return;
  }
  for (const e of entries) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (owns(rel)) continue;
    const src = path.join(from, rel);
    const dst = path.join(to, rel);
    try {
      if (e.isDirectory()) {
        if (!(await exists(dst))) await fs.mkdir(dst);
        if ((await fs.lstat(dst)).isDirectory()) await carryOver(from, to, owns, rel, lost);
      } else if (!(await exists(dst))) {
        if (e.isSymbolicLink()) await fs.symlink(await fs.readlink(src), dst);
        else await fs.link(src, dst).catch(() => fs.copyFile(src, dst));
      }
    } catch {
      lost.push(rel);
    }
  }
}

/** Takes the cross-process lock of `target` (waits while a live process holds it). */
async function lock(target: string): Promise<string> {
  const file = path.join(path.dirname(target), `.${path.basename(target)}.lock`);
  const me = JSON.stringify({ pid: process.pid, created: Date.now() });
  for (let waited = 0; ; waited += 50) {
    try {
      await fs.writeFile(file, me, { flag: 'wx' });
      ours.add(path.basename(file));
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: { pid?: unknown; created?: unknown } = {};
    try {
      owner = JSON.parse(await fs.readFile(file, 'utf8')) as typeof owner;
    } catch {
      // Being written right now, or damaged: judged again on the next turn (a damaged one by its age).
      const st = await fs.stat(file).catch(() => null);
      if (st !== null && Date.now() - st.mtimeMs > 5000) await fs.rm(file, { force: true });
    }
    if (typeof owner.pid === 'number' && typeof owner.created === 'number' && !inUse(path.basename(file), owner.pid, owner.created)) {
      await fs.rm(file, { force: true }); // its owner died while saving: take it over
      continue;
    }
    if (waited > 10 * 60_000) {
      throw new Error(`another process (pid ${String(owner.pid)}) has been saving to ${target} for 10 minutes (lock ${file}); delete the lock file if no save is running`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs `fill(tmpDir)` and then atomically replaces `dir` with what it wrote, keeping the entries
 * of the old `dir` that are not files of the format (`owns`, given relative paths with `/`;
 * default: none is, everything is kept unless overwritten). See the module comment.
 */
export async function writeDirAtomically(dir: string, fill: (tmpDir: string) => Promise<void>, owns: (rel: string) => boolean = () => false): Promise<void> {
  let target = path.resolve(dir);
  // A symlink to a folder (a model folder on a bigger disk) is saved through: the link stays.
  try {
    if ((await fs.lstat(target)).isSymbolicLink()) target = await fs.realpath(target);
  } catch {
    // Missing (or a dangling link: the rename below reports it).
  }
  const before = queues.get(target) ?? Promise.resolve();
  const run = before.then(() => swapIn(target, fill, owns));
  const settled = run.catch(() => undefined);
  queues.set(target, settled);
  try {
    await run;
  } finally {
    if (queues.get(target) === settled) queues.delete(target);
  }
}

async function swapIn(target: string, fill: (tmpDir: string) => Promise<void>, owns: (rel: string) => boolean): Promise<void> {
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  const lockFile = await lock(target);
  const tmpName = `.${path.basename(target)}.tmp-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(parent, tmpName);
  const old = `${tmp}-old`;
  ours.add(tmpName);
  let moved = false;
  try {
    await recoverInterruptedSave(target, true);
    try {
      if (!(await fs.lstat(target)).isDirectory()) {
        throw new TransferKitError('E_IO_WRITE', `${target} exists and is not a folder. A model, checkpoint or text model is saved as a folder and a file there is never replaced; choose another path, or move the file.`);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await fs.mkdir(tmp, { recursive: true });
    await fill(tmp);
    const lost: string[] = [];
    await carryOver(target, tmp, owns, '', lost);
    try {
      await fs.rename(target, old);
      moved = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const pause = Number(process.env.TRANSFERKIT_SWAP_PAUSE_MS ?? 0);
    if (pause > 0) await new Promise((r) => setTimeout(r, pause)); // crash tests kill inside the window
    await fs.rename(tmp, target);
    if (moved) {
      if (lost.length === 0) await fs.rm(old, { recursive: true, force: true });
      else {
        // Something could not be carried (unreadable): keep the old folder rather than lose it.
        const kept = path.join(parent, `${path.basename(target)}.previous-${Date.now().toString(36)}`);
        await fs.rename(old, kept);
        console.warn(`[transferkit] Saved ${target}; ${lost.length} entr${lost.length === 1 ? 'y' : 'ies'} of the previous folder could not be carried over (${lost.slice(0, 3).join(', ')}), so the previous folder is kept as ${kept}.`);
      }
    }
  } catch (err) {
    if (moved && !(await exists(target))) await fs.rename(old, target).catch(() => undefined);
    else if (moved) await fs.rm(old, { recursive: true, force: true }).catch(() => undefined);
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  } finally {
    ours.delete(tmpName);
    ours.delete(path.basename(lockFile));
    await fs.rm(lockFile, { force: true }).catch(() => undefined);
  }
}

/**
 * Called by loaders before reading the folder `dir`: when it is missing because a save was killed
 * in its swap window, restores it (see {@link recoverInterruptedSave}); when a save of a running
 * process is inside its window right now, waits for it (up to `waitMs`). Never throws.
 */
export async function settleFolder(dir: string, waitMs = 2000): Promise<void> {
  const target = path.resolve(dir);
  if (await exists(target)) return;
  if (await recoverInterruptedSave(target)) return;
  const base = path.basename(target);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    let swapping: boolean;
    try {
      swapping = (await fs.readdir(path.dirname(target))).some((n) => {
        const m = TMP.exec(n);
        return m !== null && m[1] === base && m[5] !== undefined;
      });
    } catch {
      return;
    }
    if (!swapping) return;
    await new Promise((r) => setTimeout(r, 20));
    if (await exists(target)) return;
    if (await recoverInterruptedSave(target)) return;
  }
}
