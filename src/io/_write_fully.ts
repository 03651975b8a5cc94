/**
 * `fs.writeSync` may write fewer bytes than asked (a full disk, a quota, a signal) and returns how
 * many it wrote; code that ignores the count reports success for a truncated file. Every
 * synchronous write of the library goes through here.
 */
import * as fs from 'node:fs';

/** Writes all of `bytes` to `fd` (at `position`, else the current position); throws ENOSPC-coded when the disk takes nothing. */
export function writeFullySync(fd: number, bytes: Uint8Array, position?: number): void {
  let done = 0;
  while (done < bytes.byteLength) {
    const n = fs.writeSync(fd, bytes, done, bytes.byteLength - done, position === undefined ? null : position + done);
    if (!(n > 0)) throw Object.assign(new Error(`write() wrote nothing after ${done} of ${bytes.byteLength} bytes (disk full?)`), { code: 'ENOSPC' });
    done += n;
  }
}
