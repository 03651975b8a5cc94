/** Progress output: a bar on a TTY, plain lines off a TTY, JSON lines when asked, nothing with `false`. */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { fineTune, progressReporter, useBackend, type EpochLog, type ProgressEvent } from '../../src/index.js';
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
  it("'auto' draws a bar on a TTY; false and 'silent' print nothing", () => {
    const tty = sink(true);
    progressReporter('auto', tty.out)?.(batch);
    expect(tty.text()).toBe('\rhead 1/3 [===========>            ] 2/4 loss 0.5000 metric 0.7500 lr 1.00e-3');
    expect(progressReporter('silent', tty.out)).toBeNull();
    expect(progressReporter(false, tty.out)).toBeNull();
    expect(progressReporter(false, sink(false).out)).toBeNull();
  });

  it("'auto' off a TTY prints a line per epoch (loss, accuracy, validation, seconds) and a step line when 10 s pass without one", () => {
    const s = sink(false);
    let clock = 0;
    const report = progressReporter('auto', s.out, { now: () => clock });
    expect(report).not.toBeNull();
    const step = (k: number, ms: number) => {
      clock += ms;
      report?.({ ...batch, epoch: 1, epochs: 3, step: k, steps: 4 });
    };
    step(1, 4000);
    step(2, 4000); // 8 s since the start: nothing yet
    step(3, 4000); // 12 s: a step line
    step(4, 4000); // the epoch's last step: its epoch line follows instead
    const log: EpochLog = { stage: 'head', epoch: 1, loss: 0.41234, accuracy: 0.8333, valLoss: 0.39, valAccuracy: 0.875, learningRate: 1e-3, seconds: 16.04, numTensors: 0, cachedFrom: 0, cache: 'none' };
    report?.({ type: 'epoch', log });
    step(1, 4000); // 4 s after the epoch line: nothing
    expect(s.text()).toBe(
      'head epoch 1/3 step 3/4: loss 0.5000 acc 75.0% | lr 1.00e-3\n' +
      'head epoch 1/3: loss 0.4123 acc 83.3% | val loss 0.3900 acc 87.5% | lr 1.00e-3 | 16.0 s\n',
    );
    const r = sink(false);
    progressReporter('lines', r.out, { metric: 'mae' })?.({ type: 'epoch', log: { ...log, accuracy: NaN, mae: 0.25, valAccuracy: NaN, valMae: 0.5 } });
    expect(r.text()).toBe('head epoch 1: loss 0.4123 mae 0.2500 | val loss 0.3900 mae 0.5000 | lr 1.00e-3 | 16.0 s\n');
  });

  it('fineTune writes epoch lines to a non-TTY stderr by default, and nothing with progress: false', async () => {
    const data = quadrantImages(8, 16, 3, 2);
    const capture = async (progress?: false): Promise<string> => {
      const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
      Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
      let text = '';
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        text += String(chunk);
        return true;
      });
      try {
        await fineTune(await tinyHeaded(1), data, { recipe: 'head-only', headEpochs: 2, batchSize: 4, ...(progress === false ? { progress } : {}) });
      } finally {
        spy.mockRestore();
        if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
        else delete (process.stderr as { isTTY?: boolean }).isTTY;
      }
      return text;
    };
    const lines = (await capture()).split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^head epoch 1\/2: loss \d+\.\d{4} acc \d+\.\d% \| lr 1\.00e-3 \| \d+\.\d s$/);
    expect(lines[1]).toMatch(/^head epoch 2\/2: /);
    expect(await capture(false)).toBe('');
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
