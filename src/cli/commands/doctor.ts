/** `transferkit doctor [--json]`: which backends start here, GPU adapters, CUDA libraries, ONNX encoders, and what to install. */
import { doctor } from '../../backends/doctor.js';
import { parse } from '../args.js';

export const USAGE = 'Usage: transferkit doctor [--json]';

export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {}, USAGE);
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const report = await doctor();
  if (values.json === true) {
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
