#!/usr/bin/env node
/**
 * The `transferkit` command: `transferkit <command> [options]`; `transferkit <command> --help`.
 * Errors print as one sentence with the fix (exit 1; usage errors exit 2), with the stack only
 * under `--verbose`.
 */
import { isTransferKitError } from '../errors.js';
import { UsageError } from './args.js';
import { codedFsError } from './files.js';
import { adaptCommand } from './commands/adapt.js';
import { doctorCommand } from './commands/doctor.js';
import { evaluateCommand } from './commands/evaluate.js';
import { extractFeaturesCommand } from './commands/extract_features.js';
import { fineTuneCommand } from './commands/fine_tune.js';
import { lrFindCommand } from './commands/lr_find.js';
import { modelsCommand } from './commands/models.js';
import { predictCommand } from './commands/predict.js';
import { tuneCommand } from './commands/tune.js';
import { workerCommand } from './commands/worker.js';
import { VERSION } from '../version.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; about: string }> = {
  'fine-tune': { run: fineTuneCommand, about: 'train a new head (and more) on your data; writes a run folder with report.html' },
  evaluate: { run: evaluateCommand, about: 'accuracy, per-class figures and confusion matrix of a trained model on data' },
  predict: { run: predictCommand, about: 'top classes of images or texts' },
  'extract-features': { run: extractFeaturesCommand, about: 'embeddings of a data set from a frozen model or ONNX encoder (.safetensors)' },
  adapt: { run: adaptCommand, about: 'unsupervised domain adaptation (DANN, CORAL, MMD, AdaBN, self-training)' },
  'lr-find': { run: lrFindCommand, about: "fastai's learning-rate range test on a new head" },
  models: { run: modelsCommand, about: 'the model zoo and what is cached' },
  doctor: { run: doctorCommand, about: 'which backends run here and what to install for speed' },
  tune: { run: tuneCommand, about: 'hyperparameter search from a study file' },
  worker: { run: workerCommand, about: 'run the trials of studies queued on Redis (BullMQ), on this machine' },
};

function help(): string {
  return `transferkit ${VERSION} — transfer learning for TensorFlow.js\n\nUsage: transferkit <command> [options]   (transferkit <command> --help)\n\n${Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(17)} ${c.about}`).join('\n')}`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(help());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    console.log(VERSION);
    return 0;
  }
  const c = COMMANDS[command];
  if (c === undefined) {
    console.error(`Unknown command '${command}'.\n\n${help()}`);
    return 2;
  }
  return c.run(rest);
}

/**
 * Resolves once everything written to `stream` so far has been handed to the OS. Writes to a pipe
 * are asynchronous: `process.exit` right after 1000 lines of `predict` would drop the half a slow
 * consumer has not read yet.
 */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableLength === 0) {
      resolve();
      return;
    }
    // Writes complete in order: the callback of an empty write runs after every earlier one.
    stream.write('', () => resolve());
  });
}

let exitCode: number | undefined;

/** Exits with `code` once stdout and stderr have drained. */
async function exit(code: number): Promise<never> {
  exitCode = code;
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

// The consumer of our output went away (`transferkit predict ... | head -1`): stop quietly, with
// no stack trace (exit 0, or the code already decided: the reader chose to stop reading).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(exitCode ?? 0);
    throw err;
  });
}

const verbose = process.argv.includes('--verbose');
main(process.argv.slice(2)).then(
  (code) => exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n${err.usage}`);
      return exit(2);
    }
    // A raw file-system error from deep inside (ENOENT, EACCES, EEXIST, ENOSPC): one coded sentence with the path and the fix.
    const coded = codedFsError(err);
    const e = coded ?? err;
    const msg = isTransferKitError(e) ? e.message.replace(/^\[transferkit\] /, '') : (e as Error)?.message ?? String(e);
    console.error(`Error: ${msg}${verbose ? '' : '  (--verbose for details)'}`);
    if (verbose) console.error((err as Error)?.stack ?? '');
    return exit(1);
  },
);
