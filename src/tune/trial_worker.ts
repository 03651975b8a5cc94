/**
 * The program a trial runs in when the objective is a module (`tune({ objective: { module } })`):
 * one child process per trial, so a crash, a leak or an exhausted wasm heap ends that trial only,
 * and each trial has its own TF.js engine and backend. It is passed to `node -e` as source text
 * (no file to locate in either build), talks to the parent over IPC:
 *   parent → { config, trialId }; child → { type: 'report', step, value } → parent → { continue };
 *   child → { type: 'done', value } | { type: 'error', message }.
 */
export const TRIAL_WORKER_SOURCE = `
import { pathToFileURL } from 'node:url';
const [moduleFile, exportName] = process.argv.slice(-2);
// The parent is gone (killed): nobody will read the result, so stop now instead of computing on.
process.on('disconnect', () => process.exit(1));
process.once('message', async ({ config, trialId }) => {
  try {
    const mod = await import(pathToFileURL(moduleFile).href);
    const objective = mod[exportName] ?? mod.default?.[exportName];
    if (typeof objective !== 'function') throw new Error(moduleFile + ' exports no function named ' + exportName);
    const pending = [];
    const report = (step, value) => new Promise((resolve) => {
      pending.push(resolve);
      process.send({ type: 'report', step, value });
    });
    process.on('message', (m) => { if (m && m.type === 'decision') pending.shift()?.(m.continue); });
    const value = await objective(config, { trialId, report });
    process.send({ type: 'done', value }, () => process.exit(0));
  } catch (err) {
    process.send({ type: 'error', message: String(err && err.stack || err) }, () => process.exit(1));
  }
});
`;
