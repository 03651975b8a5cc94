/**
 * Typed search spaces, as KerasTuner's `hp.Choice` / `hp.Float(sampling='log')` / `hp.Int` and
 * Optuna's `suggest_*`: a space is a record of named dimensions; a configuration is a record of
 * values, typed from the space.
 */
import { TransferKitError } from '../errors.js';

/** One dimension of a search space. */
export type Dimension =
  | { kind: 'choice'; values: readonly (string | number | boolean)[] }
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'log-uniform'; low: number; high: number }
  | { kind: 'int'; low: number; high: number; step: number };

/** A search space: named dimensions. */
export type SearchSpace = Record<string, Dimension>;

/** A configuration drawn from a space. */
export type TrialConfig = Record<string, string | number | boolean>;

/** One of `values`. */
export function choice<T extends string | number | boolean>(values: readonly T[]): Dimension {
  if (values.length === 0) throw new TransferKitError('E_BAD_OPTION', 'choice() needs at least one value.');
  return { kind: 'choice', values };
}

/** A float uniform in [low, high]. */
export function uniform(low: number, high: number): Dimension {
  if (!(high > low)) throw new TransferKitError('E_BAD_OPTION', `uniform(low, high) needs high > low. Received: low=${low}, high=${high}.`);
  return { kind: 'uniform', low, high };
}

/** A float whose logarithm is uniform in [log low, log high] (learning rates, weight decay). */
export function logUniform(low: number, high: number): Dimension {
  if (!(low > 0 && high > low)) throw new TransferKitError('E_BAD_OPTION', `logUniform(low, high) needs 0 < low < high. Received: low=${low}, high=${high}.`);
  return { kind: 'log-uniform', low, high };
}

/** An integer in [low, high] on a grid of `step` (default 1). */
export function int(low: number, high: number, step = 1): Dimension {
  if (!(Number.isInteger(low) && Number.isInteger(high) && high >= low && Number.isInteger(step) && step >= 1)) {
    throw new TransferKitError('E_BAD_OPTION', `int(low, high, step) needs integers with high >= low and step >= 1. Received: low=${low}, high=${high}, step=${step}.`);
  }
  return { kind: 'int', low, high, step };
}

/** A random configuration (each dimension independently). */
export function sampleConfig(space: SearchSpace, rand: () => number): TrialConfig {
  const out: TrialConfig = {};
  for (const [name, d] of Object.entries(space)) {
    if (d.kind === 'choice') out[name] = d.values[Math.floor(rand() * d.values.length)];
    else if (d.kind === 'uniform') out[name] = d.low + rand() * (d.high - d.low);
    else if (d.kind === 'log-uniform') out[name] = Math.exp(Math.log(d.low) + rand() * (Math.log(d.high) - Math.log(d.low)));
    else out[name] = d.low + d.step * Math.floor(rand() * (Math.floor((d.high - d.low) / d.step) + 1));
  }
  return out;
}

/**
 * Every combination of the space's values, the first dimension varying slowest. Continuous
 * dimensions take `pointsPerAxis` evenly spaced points (geometrically for log-uniform), as a grid
 * search over a continuous range needs a resolution.
 */
export function gridConfigs(space: SearchSpace, pointsPerAxis = 3): TrialConfig[] {
  const axes = Object.entries(space).map(([name, d]): [string, (string | number | boolean)[]] => {
    if (d.kind === 'choice') return [name, [...d.values]];
    if (d.kind === 'int') return [name, Array.from({ length: Math.floor((d.high - d.low) / d.step) + 1 }, (_, i) => d.low + i * d.step)];
    const k = Math.max(2, pointsPerAxis);
    if (d.kind === 'uniform') return [name, Array.from({ length: k }, (_, i) => d.low + ((d.high - d.low) * i) / (k - 1))];
    return [name, Array.from({ length: k }, (_, i) => Math.exp(Math.log(d.low) + ((Math.log(d.high) - Math.log(d.low)) * i) / (k - 1)))];
  });
  let configs: TrialConfig[] = [{}];
  for (const [name, values] of axes) configs = configs.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  return configs;
}
