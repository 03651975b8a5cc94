/**
 * Unknown option names are errors, not silently ignored defaults: `fineTune(m, d, { epoch: 1 })`
 * would otherwise train for the default number of epochs. Keras raises on unknown keyword
 * arguments (`TypeError: fit() got an unexpected keyword argument`); JavaScript objects cannot, so
 * each primitive lists its option names (checked against its options type at compile time, see
 * {@link optionNames}) and {@link checkOptionKeys} names the stray key and the closest valid one.
 */
import { TransferKitError } from '../errors.js';

/**
 * The option names of `T`. Written as an object with every key of `T` set to true, so the compiler
 * refuses a missing or an extra name when `T` changes.
 */
export function optionNames<T>(names: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(names);
}

/** Levenshtein distance (small strings). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The closest of `names` to `key`, when it is close enough to be a typo. */
export function closest(key: string, names: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const n of names) {
    const d = distance(key, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

/**
 * @throws E_BAD_OPTION when `options` holds a key that is not in `names` (undefined values too:
 * a misspelt key is as wrong when it is undefined).
 */
export function checkOptionKeys(fn: string, options: object | undefined | null, names: readonly string[]): void {
  if (options === undefined || options === null || typeof options !== 'object') return;
  for (const key of Object.keys(options)) {
    if (names.includes(key)) continue;
    const near = closest(key, names);
    throw new TransferKitError('E_BAD_OPTION', `${fn}: unknown option '${key}'.${near !== null ? ` Did you mean '${near}'?` : ''} Valid options: ${[...names].sort().join(', ')}.`);
  }
}
