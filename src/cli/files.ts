/**
 * The CLI's file-system boundary: every path a user names (an output folder or file, a run
 * folder's config.json, a study file, a list of texts) is read and written through these helpers,
 * so a failure is one coded sentence naming the path, the option and the fix, never a raw
 * `ENOENT: no such file or directory, open '...'` or a JSON parse error without the file.
 *
 * Outputs are checked *before* the work (a training run must not fail at its end because `--out`
 * names a file or an unwritable folder).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TransferKitError, type ErrorCode } from '../errors.js';
import { checkJsonDepth } from '../utils/json.js';

/** A Node file-system error (`err.code` such as `ENOENT`, `err.syscall`, `err.path`). */
export function isFsError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code as string) && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

const READ_CALLS = new Set(['open', 'read', 'scandir', 'stat', 'lstat', 'access', 'readlink', 'opendir']);

/** The nearest existing ancestor of `p` (itself when it exists). */
function existingAncestor(p: string): string {
  let q = path.resolve(p);
  while (!fs.existsSync(q)) {
    const up = path.dirname(q);
    if (up === q) break;
    q = up;
  }
  return q;
}

/**
 * A coded error for a Node file-system error on `file`: what went wrong in words, the path, the
 * option that named it (`--out`), and the fix. `action` says whether the CLI was reading it.
 */
export function fsError(err: unknown, file: string, action: 'read' | 'write', option?: string): TransferKitError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? 'EUNKNOWN';
  const target = e.path ?? file;
  const received = `Received: ${option ?? 'path'}=${file} (${code}${e.syscall !== undefined ? ` on ${e.syscall}` : ''})`;
  const other = option !== undefined ? `, or pass another ${option}` : '';
  let code2: ErrorCode = action === 'read' ? 'E_IO_NOT_FOUND' : 'E_IO_WRITE';
  let msg: string;
  if (action === 'read') {
    if (code === 'ENOENT') msg = `Cannot read ${target}: there is no file or folder at that path. ${received}. Check the path${other}.`;
    else if (code === 'EACCES' || code === 'EPERM') msg = `Cannot read ${target}: permission denied. ${received}. Make the file readable (chmod) or copy it somewhere you can read${other}.`;
    else if (code === 'EISDIR') msg = `Cannot read ${target}: it is a folder, not a file. ${received}. Name the file inside it${other}.`;
    else if (code === 'ENOTDIR') msg = `Cannot read ${target}: a part of the path is a file, not a folder. ${received}. Check the path${other}.`;
    else msg = `Cannot read ${target}: ${e.message}. ${received}. Check the path and the disk${other}.`;
  } else {
    code2 = 'E_IO_WRITE';
    const dir = path.dirname(path.resolve(target));
    if (code === 'ENOENT') {
      const up = existingAncestor(dir);
      msg = `Cannot write ${target}: the output folder ${dir} does not exist. Outputs go into an existing folder. ${received}. Create it (mkdir -p ${dir})${other}.${up !== dir ? ` (The nearest existing folder is ${up}.)` : ''}`;
    } else if (code === 'EACCES' || code === 'EPERM') msg = `Cannot write ${target}: permission denied. The output folder must be writable by you. ${received}. Choose a folder you can write to${other}, or fix its permissions.`;
    else if (code === 'EEXIST') msg = `Cannot create the folder ${target}: a file of that name exists. ${option ?? 'The output'} must name a folder. ${received}. Move the file away${other}.`;
    else if (code === 'ENOTDIR') msg = `Cannot write ${target}: a part of the path (${existingAncestor(target)}) is a file, not a folder. ${received}. Pass a path inside a folder${other}.`;
    else if (code === 'EISDIR') msg = `Cannot write ${target}: a folder of that name exists. ${option ?? 'The output'} must name a file. ${received}. Name a file (e.g. ${path.join(target, 'out')})${other}.`;
    else if (code === 'ENOSPC' || code === 'EDQUOT') msg = `Cannot write ${target}: the disk is full (or over quota). ${received}. Free some space${other}.`;
    else if (code === 'EROFS') msg = `Cannot write ${target}: the file system is read-only. ${received}. Write to a writable disk${other}.`;
    else msg = `Cannot write ${target}: ${e.message}. ${received}. Check the folder and the disk${other}.`;
  }
  return new TransferKitError(code2, msg, { cause: err });
}

/** A raw Node file-system error that reached the top of the CLI, as a coded error (else null). */
export function codedFsError(err: unknown): TransferKitError | null {
  if (!isFsError(err)) return null;
  const action = READ_CALLS.has(err.syscall as string) && err.code !== 'EEXIST' ? 'read' : 'write';
  return fsError(err, err.path ?? (err as { dest?: string }).dest ?? '(unknown path)', action);
}

/**
 * Checks, before any work, that `dir` can hold outputs: a folder you can write to, or a path
 * whose nearest existing ancestor is such a folder (it is created later, recursively).
 */
export function checkOutputDir(dir: string, option: string): void {
  const abs = path.resolve(dir);
  const up = existingAncestor(abs);
  let st: fs.Stats;
  try {
    st = fs.statSync(up);
  } catch (err) {
    throw fsError(err, dir, 'read', option);
  }
  if (!st.isDirectory()) {
    if (up === abs) {
      throw new TransferKitError('E_BAD_OPTION', `${option} ${dir} is a file; outputs go into a folder. ${option} must name a folder (it is created when missing). Received: ${option}=${dir}. Pass another ${option}, or move the file away.`);
    }
    throw new TransferKitError('E_BAD_OPTION', `${option} ${dir} cannot be created: ${up} is a file, not a folder. ${option} must name a folder (it is created when missing). Received: ${option}=${dir}. Pass a path inside a folder.`);
  }
  try {
    fs.accessSync(up, fs.constants.W_OK);
  } catch (err) {
    throw new TransferKitError('E_IO_WRITE', `${option} ${dir} is not writable: permission denied on ${up}. The output folder must be writable by you. Received: ${option}=${dir}. Choose a folder you can write to, or fix its permissions.`, { cause: err });
  }
}

/** Checks, before any work, that the file `file` can be written: its folder exists and is writable, and it is not a folder. */
export function checkOutputFile(file: string, option: string): void {
  const abs = path.resolve(file);
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) {
    throw new TransferKitError('E_BAD_OPTION', `${option} ${file} is a folder; it must name a file. Received: ${option}=${file}. Name a file, e.g. ${path.join(file, 'features.safetensors')}.`);
  }
  const dir = path.dirname(abs);
  if (!fs.existsSync(dir)) {
    throw new TransferKitError('E_IO_WRITE', `Cannot write ${file}: the output folder ${dir} does not exist. ${option} must be a file in an existing folder. Received: ${option}=${file}. Create the folder (mkdir -p ${dir}) or pass another ${option}.`);
  }
  if (!fs.statSync(dir).isDirectory()) {
    throw new TransferKitError('E_BAD_OPTION', `Cannot write ${file}: ${dir} is a file, not a folder. ${option} must be a file in a folder. Received: ${option}=${file}. Pass another ${option}.`);
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new TransferKitError('E_IO_WRITE', `Cannot write ${file}: permission denied on the folder ${dir}. The output folder must be writable by you. Received: ${option}=${file}. Choose a folder you can write to, or fix its permissions.`, { cause: err });
  }
}

/** `mkdir -p dir`, with a coded error. */
export function makeDir(dir: string, option?: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw fsError(err, dir, 'write', option);
  }
}

/** Writes `data` to `file`, with a coded error. */
export function writeFile(file: string, data: string | Uint8Array, option?: string): void {
  try {
    fs.writeFileSync(file, data);
  } catch (err) {
    throw fsError(err, file, 'write', option);
  }
}

/** Writes `value` as JSON to `file` through a temporary file and a rename (readers never see half a file). */
export function writeJsonAtomic(file: string, value: unknown, option?: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw fsError(err, file, 'write', option);
  }
}

/** Reads a UTF-8 text file (without a byte-order mark), with a coded error. */
export function readTextFile(file: string, option?: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw fsError(err, file, 'read', option);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The offset of the first character where `text` stops being JSON (`text.length` when it ends
 * too early; -1 when it is valid). Iterative, so deep nesting cannot overflow the stack.
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  let i = 0;
  const ws = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): boolean => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 2;
            return false;
          }
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else {
          i++;
          return false;
        }
      } else i++;
    }
    return false;
  };
  const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  // The containers open at i: '{' or '['; `expect` what comes next in the innermost one.
  const stack: string[] = [];
  let expectValue = true;
  for (;;) {
    ws();
    if (expectValue) {
      const c = text[i];
      if (c === '{' || c === '[') {
        stack.push(c);
        i++;
        ws();
        if (text[i] === (c === '{' ? '}' : ']')) {
          i++;
          stack.pop();
          expectValue = false;
          continue;
        }
        if (c === '{') {
          if (text[i] !== '"' || !str()) return i;
          ws();
          if (text[i] !== ':') return i;
          i++;
        }
        continue;
      }
      if (c === '"') {
        if (!str()) return i;
      } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
        NUM.lastIndex = i;
        if (!NUM.test(text)) return i;
        i = NUM.lastIndex;
      } else if (text.startsWith('true', i)) i += 4;
      else if (text.startsWith('false', i)) i += 5;
      else if (text.startsWith('null', i)) i += 4;
      else return i;
      expectValue = false;
      continue;
    }
    const top = stack[stack.length - 1];
    if (top === undefined) return i < n ? i : -1;
    const c = text[i];
    if (c === ',') {
      i++;
      if (top === '{') {
        ws();
        if (text[i] !== '"' || !str()) return i;
        ws();
        if (text[i] !== ':') return i;
        i++;
      }
      expectValue = true;
    } else if (c === (top === '{' ? '}' : ']')) {
      i++;
      stack.pop();
    } else return i;
  }
}

/** Line and column (1-based) of `offset` in `text`. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * Parses the JSON file `file` (`what` names it in messages: "run configuration"); a parse error
 * names the file and the line, column and offset where the JSON breaks, and `fix`.
 */
export function readJsonFile(file: string, what: string, fix: string, option?: string): unknown {
  const text = readTextFile(file, option);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    const offset = jsonErrorOffset(text);
    const at = text.trim() === '' ? ' (the file is empty)' : offset < 0 ? '' : offset >= text.length ? ' at the end of the file (it is cut short)' : (() => {
      const { line, column } = lineColumn(text, offset);
      return ` at line ${line}, column ${column} (position ${offset}, near ${JSON.stringify(text.slice(offset, offset + 20))})`;
    })();
    throw new TransferKitError('E_IO_FORMAT', `The ${what} ${file} is not valid JSON${at}: ${(err as Error).message}. Received: file=${file} (${text.length} characters). ${fix}`, { cause: err });
  }
  checkJsonDepth(value, file);
  return value;
}
