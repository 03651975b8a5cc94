/** Progress output: a bar on a TTY, JSON lines when asked, nothing by default off a TTY. */
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, progressReporter, useBackend, type ProgressEvent } from '../../src/index.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';

beforeAll(async () => {
  await useBackend('wasm');
});

function sink(isTTY: boolean): { out: { write(s: string): void; isTTY: boolean }; text: () => string } {
  let buf = '';
  return { out: { write: (s: string) => void (buf += s), isTTY }, text: () => buf };
}

const batch: ProgressEvent = { type: 'batch', stage: 'head', epoch: 1, epochs: 3, step: 2, steps: 4, loss: 0.5, metric: 0.75, learningRate: 1e-3 };

describe('progress output', () => {
  it("'auto' draws a bar on a TTY and stays silent elsewhere", () => {
    const tty = sink(true);
    progressReporter('auto', tty.out)?.(batch);
    expect(tty.text()).toBe('\rhead 1/3 [===========>            ] 2/4 loss 0.5000 metric 0.7500 lr 1.00e-3');
    expect(progressReporter('auto', sink(false).out)).toBeNull();
    expect(progressReporter('silent', tty.out)).toBeNull();
  });

  it("'json' writes one parseable object per event", () => {
    const s = sink(false);
    progressReporter('json', s.out)?.(batch);
    expect(JSON.parse(s.text().trim())).toEqual(batch);
  });

  it('fineTune sends a batch event per step and an epoch event per epoch to a function', async () => {
    const events: ProgressEvent[] = [];
    const data = quadrantImages(10, 16, 3, 2);
    await fineTune(await tinyHeaded(1), data, { headEpochs: 2, epochs: 1, batchSize: 4, progress: (e) => events.push(e), unfreeze: { from: 'Conv_1' } });
    const kinds = events.map((e) => (e.type === 'batch' ? `${e.stage}:${e.step}/${e.steps}` : `end:${e.log.stage}:${e.log.epoch}`));
    expect(kinds).toEqual(['head:1/3', 'head:2/3', 'head:3/3', 'end:head:1', 'head:1/3', 'head:2/3', 'head:3/3', 'end:head:2', 'fine-tune:1/3', 'fine-tune:2/3', 'fine-tune:3/3', 'end:fine-tune:1']);
  });
});
