/**
 * The objective of examples/tune-ants-vs-bees.ts, run by `tune` in a child process per trial: the
 * demo's job (MobileNetV2-0.35 from Teachable Machine, ants vs bees, seeded 80/20 split, the
 * two-stage recipe) with the trial's learning rates and head dropout, reporting validation
 * accuracy after every epoch (head epochs, then fine-tune epochs) so ASHA can stop weak trials.
 */
import * as path from 'node:path';
import { fineTune, loadImageFolder, loadPretrained, replaceHead, trainValSplit, useBackend, type Callback } from 'transferkit';
import type { TrialConfig, TrialContext } from 'transferkit/tune';
import { assetsDir } from '../_assets.js';

export async function objective(config: TrialConfig, ctx: TrialContext): Promise<number> {
  await useBackend('wasm');
  const base = await loadPretrained(path.join(assetsDir, 'models/mobilenet_v2_0.35_224_teachable'));
  const [h, w] = base.inputShape;
  const all = await loadImageFolder(path.join(assetsDir, 'data/hymenoptera/train'), { size: [h, w], preprocessing: base.preprocessing });
  const [train, val] = trainValSplit(all, 0.2, 42); // the demo's split
  all.xs.dispose();
  const model = replaceHead(base, { numClasses: 2, classNames: all.classNames, dropout: config.dropout as number, seed: 42 });
  let step = 0;
  let last = 0;
  let stopped = false;
  const asha: Callback = {
    // A stopped trial must not start the next stage's epochs either.
    onTrainBegin: (c) => {
      if (stopped) c.stopTraining = true;
    },
    onEpochEnd: async (log, c) => {
      if (stopped) return;
      step++;
      last = log.valAccuracy ?? 0;
      if (!(await ctx.report(step, last))) {
        stopped = true;
        c.stopTraining = true;
      }
    },
  };
  await fineTune(model, train, {
    recipe: 'two-stage',
    validation: val,
    headEpochs: 5,
    epochs: 5,
    learningRate: config.lr as number,
    headLearningRate: config.headLr as number,
    seed: 42,
    callbacks: [asha],
  });
  return last;
}
