/**
 * JSON from files the library did not write (model.json, config.json, tokenizer files, metadata,
 * state files): parsed with a coded error naming the file, and refused when nested deeper than
 * `maxNestingDepth` — `JSON.parse` accepts any depth, but the code that walks the result (topology
 * flattening, TF.js deserialisation, even `String(value)`) recurses and overflows the stack on a
 * few kilobytes of `[[[[...]]]]`.
 */
import { TransferKitError, type ErrorCode } from '../errors.js';
import { inputLimits } from './limits.js';

/** Depth of the deepest array/object in `value` (iterative: never overflows itself). */
export function jsonDepth(value: unknown, stopAt = Infinity): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) max = d;
    if (max > stopAt) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

/** Throws `E_LIMIT` when `value` nests deeper than the limit; `where` names the file. */
export function checkJsonDepth(value: unknown, where: string): void {
  const limit = inputLimits().maxNestingDepth;
  const depth = jsonDepth(value, limit);
  if (depth > limit) {
    throw new TransferKitError('E_LIMIT', `${where} nests arrays/objects more than ${limit} levels deep (maxNestingDepth). No model or data file needs that; the file is corrupt or hostile. If it is genuine, raise the limit with setInputLimits({ maxNestingDepth: ... }).`);
  }
}

/** Parses `text` from the file `where`; bad JSON is `code` (default E_IO_FORMAT) naming the file and the position. */
export function parseJsonFile(text: string, where: string, code: ErrorCode = 'E_IO_FORMAT'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new TransferKitError(code, `${where} is not valid JSON (${(err as Error).message}). The file is truncated or damaged; re-download or re-export it.`, { cause: err });
  }
  checkJsonDepth(value, where);
  return value;
}

/** A short, safe preview of any value for an error message (no recursion into deep structures). */
export function preview(value: unknown, max = 80): string {
  if (typeof value === 'string') return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
  if (typeof value !== 'object' || value === null) return String(value);
  return Array.isArray(value) ? `an array of ${value.length}` : `an object with keys ${Object.keys(value).slice(0, 5).join(', ')}`;
}

/** `value` as JSON for an error message, cut at `max` characters; deep structures are summarised instead of walked. */
export function shortJson(value: unknown, max = 80): string {
  if (jsonDepth(value, 64) > 64) return '(a deeply nested value)';
  const s = JSON.stringify(value) ?? String(value);
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
