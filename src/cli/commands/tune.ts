/** `transferkit tune --config tune.json`: a hyperparameter study (see src/tune/config_file.ts); prints the trial table, then one JSON line with the best trial. */
import * as fs from 'node:fs';
import { TransferKitError } from '../../errors.js';
import { tuneOptionsFromJson } from '../../tune/config_file.js';
import { trialTable, tune } from '../../tune/tune.js';
import { queueExecutor } from '../../tune/queue_executor.js';
import { parse, required } from '../args.js';
import { readJsonFile } from '../files.js';

export const USAGE = 'Usage: transferkit tune --config tune.json';

export async function tuneCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string' } }, USAGE);
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const file = required(values, 'config', USAGE);
  if (!fs.existsSync(file)) throw new TransferKitError('E_IO_NOT_FOUND', `No study configuration at ${file}.`);
  const json = readJsonFile(file, 'study configuration', 'Fix the JSON (a study file is one object with "objective" and "space"), or pass another --config.', '--config');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TransferKitError('E_IO_FORMAT', `The study configuration ${file} is ${json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`}, not a JSON object. A study file is one object such as { "objective": "./objective.mjs", "space": {...} }. Received: --config=${file}. Fix the file, or pass another --config.`);
  }
  const { queue, ...options } = tuneOptionsFromJson(json as Record<string, unknown>, file);
  // With "queue", trials run on `transferkit worker` processes; this process drives the study.
  const executor = queue !== undefined ? await queueExecutor(queue) : undefined;
  const result = await tune({ ...options, ...(executor !== undefined ? { objective: executor } : {}), onTrialEnd: (t) => console.error(`trial ${t.id}: ${t.status}${t.value !== undefined ? ` ${t.value}` : ''}${t.error ? ` (${t.error.split('\n')[0]})` : ''}`) });
  await executor?.close();
  console.log(trialTable(result, options.mode ?? 'max'));
  console.log(JSON.stringify({ best: result.best, trials: result.trials.length, resumed: result.resumed }));
  return 0;
}
