#!/usr/bin/env node
/**
 * The `transferkit` command.
 * - `transferkit doctor [--json]`: which backends start here, GPU adapters, CUDA libraries, and
 *   what to install for a faster backend.
 * - `transferkit tune --config tune.json`: a hyperparameter study (see src/tune/config_file.ts);
 *   prints the trial table, then one JSON line with the best trial.
 */
import * as fs from 'node:fs';
import { doctor } from './backends/doctor.js';
import { tuneOptionsFromJson } from './tune/config_file.js';
import { trialTable, tune } from './tune/tune.js';

async function tuneCommand(rest: string[]): Promise<number> {
  const i = rest.indexOf('--config');
  const file = i >= 0 ? rest[i + 1] : undefined;
  if (file === undefined) {
    console.error('Usage: transferkit tune --config tune.json');
    return 2;
  }
  const options = tuneOptionsFromJson(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>, file);
  const result = await tune({ ...options, onTrialEnd: (t) => console.error(`trial ${t.id}: ${t.status}${t.value !== undefined ? ` ${t.value}` : ''}${t.error ? ` (${t.error.split('\n')[0]})` : ''}`) });
  console.log(trialTable(result, options.mode ?? 'max'));
  console.log(JSON.stringify({ best: result.best, trials: result.trials.length, resumed: result.resumed }));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'tune') return tuneCommand(rest);
  if (command !== 'doctor') {
    console.error(`Usage: transferkit doctor [--json] | transferkit tune --config tune.json\n${command === undefined ? '' : `Unknown command '${command}'.`}`.trim());
    return 2;
  }
  const report = await doctor();
  if (rest.includes('--json')) {
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  console.log(`transferkit doctor — ${report.runtime}, TF.js ${report.tfjsVersion}\n`);
  for (const b of report.backends) {
    const extra = b.available ? `${b.canTrain ? 'can train' : 'cannot train'}${b.threads !== undefined ? `, ${b.threads} thread(s)` : ''}${b.simd !== undefined ? `, SIMD ${b.simd ? 'on' : 'off'}` : ''}; ${b.detail}` : b.detail.split('. ')[0];
    console.log(`  ${b.available ? 'ok ' : ' - '} ${b.name.padEnd(15)} ${extra}`);
  }
  console.log(`\nGPU adapters (Dawn): ${report.gpuAdapters.length === 0 ? 'none' : ''}`);
  for (const a of report.gpuAdapters) console.log(`  ${a.dawnBackend.padEnd(9)} ${a.device || a.description}${a.software ? ' (software)' : ''}`);
  if (report.onnxEncoders !== undefined) console.log(`\nONNX encoders: ${report.onnxEncoders.available ? report.onnxEncoders.detail : 'not available (optional peer @huggingface/transformers not installed)'}`);
  if (report.cuda !== undefined) console.log(`\nCUDA libraries: ${[...report.cuda.cudart, ...report.cuda.cudnn].join(', ') || 'none visible to ldconfig'}`);
  console.log('\nAdvice:');
  for (const line of report.advice) console.log(`  - ${line}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error((err as Error).message ?? String(err));
    process.exit(1);
  },
);
