#!/usr/bin/env node
/**
 * The `transferkit` command. `transferkit doctor [--json]`: which backends start here, GPU
 * adapters, CUDA libraries, and what to install for a faster backend.
 */
import { doctor } from './backends/doctor.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'doctor') {
    console.error(`Usage: transferkit doctor [--json]\n${command === undefined ? '' : `Unknown command '${command}'.`}`.trim());
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
