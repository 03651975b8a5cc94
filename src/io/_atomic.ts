/**
 * Atomic folder writes: everything goes into a temporary sibling folder, which is then renamed
 * over the target (the old folder is moved aside first and deleted last), so a crash leaves either
 * the complete old folder or the complete new one.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Runs `fill(tmpDir)` and then atomically replaces `dir` with what it wrote. */
export async function writeDirAtomically(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  await fs.mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
  const old = `${tmp}-old`;
  try {
    await fs.mkdir(tmp, { recursive: true });
    await fill(tmp);
    let hadOld = false;
    try {
      await fs.rename(dir, old);
      hadOld = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await fs.rename(tmp, dir);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}
