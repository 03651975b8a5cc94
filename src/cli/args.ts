/**
 * Argument parsing for the `transferkit` sub-commands (node:util parseArgs, strict): an unknown or
 * malformed option becomes one {@link UsageError} sentence with the command's usage line.
 */
import { parseArgs } from 'node:util';
import { TransferKitError } from '../errors.js';

/** A wrong command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Option spec as node:util parseArgs takes it (strings and booleans). */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean; multiple?: boolean }>;

/** The options every sub-command takes. */
export const COMMON: OptionSpec = {
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  backend: { type: 'string' },
};

/** Parses `argv` against `spec` (+ {@link COMMON}); positional arguments are allowed when `positionals`. */
export function parse(argv: string[], spec: OptionSpec, usage: string, positionals = false): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...COMMON, ...spec }, strict: true, allowPositionals: positionals });
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify.*$/s, '.'), usage);
  }
}

/** A required string option. */
export function required(values: Record<string, unknown>, name: string, usage: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`Missing --${name}.`, usage);
  return v;
}

/** A numeric option (or its default), checked. */
export function num(values: Record<string, unknown>, name: string, fallback: number, check: (v: number) => boolean = Number.isFinite, what = 'a number'): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!check(n)) throw new TransferKitError('E_BAD_OPTION', `--${name} must be ${what}. Received: ${String(v)}.`);
  return n;
}

/** An integer option >= min. */
export function int(values: Record<string, unknown>, name: string, fallback: number, min = 0): number {
  return num(values, name, fallback, (v) => Number.isInteger(v) && v >= min, `an integer >= ${min}`);
}

/**
 * The common start of a sub-command: parse, print the usage on `--help` (returns null then), and
 * start the backend named by `--backend` (default: the best that starts here).
 */
export async function startCommand(argv: string[], spec: OptionSpec, usage: string, positionals = false): Promise<{ values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } | null> {
  const parsed = parse(argv, spec, usage, positionals);
  if (parsed.values.help === true) {
    console.log(usage);
    return null;
  }
  const { useBackend } = await import('../backends/backend.js');
  await useBackend(((parsed.values.backend as string | undefined) ?? 'auto') as Parameters<typeof useBackend>[0]);
  return parsed;
}
