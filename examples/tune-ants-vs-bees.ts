/**
 * A small hyperparameter study on the demo's job: ASHA over the two learning rates of the
 * two-stage recipe and the head's dropout, trials in parallel child processes, the demo's default
 * configuration enqueued as trial 0 for comparison. The study folder makes it resumable: stop it
 * and run the same command again.
 *
 *   npx tsx examples/tune-ants-vs-bees.ts [--trials 10] [--parallel 2] [--study runs/tune-ants-vs-bees]
 *
 * Selection uses the demo's validation split (49 photos): the best trial's figure is optimistic,
 * as every tuned figure on its own selection set is. Last line: a JSON summary.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { choice, logUniform, trialTable, tune } from 'transferkit/tune';
import { assetsDir, repoRoot } from './_assets.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '10' },
    parallel: { type: 'string', default: '2' },
    study: { type: 'string', default: path.join(repoRoot, 'runs/tune-ants-vs-bees') },
    seed: { type: 'string', default: '0' },
  },
});

async function main(): Promise<void> {
  for (const p of ['models/mobilenet_v2_0.35_224_teachable', 'data/hymenoptera/train']) {
    if (!fs.existsSync(path.join(assetsDir, p))) {
      console.error(`Missing ${path.join(assetsDir, p)}: put the shared assets at ../shared or set TRANSFERKIT_ASSETS.`);
      process.exit(2);
    }
  }
  const t0 = Date.now();
  const result = await tune({
    space: { lr: logUniform(1e-5, 1e-3), headLr: logUniform(1e-4, 1e-2), dropout: choice([0, 0.2, 0.5]) },
    objective: { module: path.join(repoRoot, 'examples/tune/ants-vs-bees-objective.ts') },
    strategy: 'asha',
    asha: { maxResource: 10, minResource: 1, reductionFactor: 3 }, // 5 head + 5 fine-tune epochs
    trials: Number(values.trials),
    parallel: Number(values.parallel),
    seed: Number(values.seed),
    initialConfigs: [{ lr: 1e-4, headLr: 1e-3, dropout: 0.2 }], // the demo's defaults
    studyDir: values.study,
    onTrialEnd: (t) => console.log(`trial ${t.id} ${t.status} after ${t.reports.length} epochs: val acc ${t.value === undefined ? '-' : (100 * t.value).toFixed(1)} % (${t.seconds.toFixed(0)} s) ${JSON.stringify(t.config)}${t.error ? ` error: ${t.error.split('\n')[0]}` : ''}`),
  });
  console.log(trialTable(result));
  const def = result.trials.find((t) => t.id === 0);
  const epochs = result.trials.reduce((n, t) => n + t.reports.length, 0);
  console.log(JSON.stringify({
    best: result.best,
    default: def,
    trials: result.trials.length,
    epochsRun: epochs,
    epochsWithoutEarlyStopping: result.trials.length * 10,
    seconds: (Date.now() - t0) / 1000,
    resumed: result.resumed,
  }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
