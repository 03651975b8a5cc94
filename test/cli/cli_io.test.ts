/**
 * The CLI's input/output boundary: every line of `predict` reaches a slow consumer (the process
 * used to exit before stdout drained and dropped about half of 1000 lines), a consumer that stops
 * reading (`| head -1`) ends the command quietly, and file-system and JSON failures on user paths
 * are one coded sentence naming the path (and the position in the JSON) with the fix, never a raw
 * ENOENT / EEXIST / ENOTDIR or a SyntaxError without the file.
 *
 * The CLI runs as users run it (the built dist/cli.js in a child process) on a tiny model saved in
 * a temp folder and synthetic PNGs, so no asset or network is needed.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { replaceHead, saveModel, useBackend } from '../../src/index.js';
import { checkOutputDir, checkOutputFile, codedFsError, fsError, jsonErrorOffset, readJsonFile } from '../../src/cli/files.js';
import { tinyPretrained } from '../helpers/tiny_model.js';
import { runCli, type CliRun } from '../helpers/cli.js';

const CLI = process.env.TRANSFERKIT_CLI ?? path.resolve(__dirname, '../../dist/cli.js');
const built = fs.existsSync(CLI);
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-cli-io-'));

/** Class names long enough that 1000 prediction lines (~300 KB) overflow any pipe buffer many times over. */
const CLASSES = ['a_class_name_long_enough_to_make_every_prediction_line_longer_0', 'a_class_name_long_enough_to_make_every_prediction_line_longer_1', 'a_class_name_long_enough_to_make_every_prediction_line_longer_2'];

let model = ''; // a saved model with class names (what predict / evaluate load)
let base = ''; // the same backbone without a trained head (what fine-tune loads)
let images = ''; // 1000 PNGs
let classes = ''; // an image folder with a sub-folder per class of the model

function png(seed: number): Buffer {
  const img = new PNG({ width: 16, height: 16 });
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 31 + seed * 17) % 256;
  for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
  return PNG.sync.write(img);
}

beforeAll(async () => {
  if (!built) {
    console.log('[skip] dist/cli.js not built (npm test builds it first); only the unit tests run');
    return;
  }
  await useBackend('cpu');
  const root = tmp();
  const pm = await tinyPretrained(3);
  base = path.join(root, 'base');
  await saveModel(pm, base);
  model = path.join(root, 'model');
  await saveModel(replaceHead(pm, { numClasses: 3, classNames: CLASSES, seed: 1 }), model);
  images = path.join(root, 'images');
  fs.mkdirSync(images);
  const one = png(1);
  for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(images, `image_${String(i).padStart(4, '0')}.png`), one);
  classes = path.join(root, 'classes');
  for (const [k, c] of CLASSES.entries()) {
    fs.mkdirSync(path.join(classes, c), { recursive: true });
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(classes, c, `${i}.png`), png(10 * k + i));
  }
}, 120_000);

type Run = CliRun;

/**
 * Runs the CLI with stdout piped into a consumer that starts reading late: nothing is read until
 * the child has exited or 1.5 s after its first output. A CLI that exits without waiting for
 * stdout to drain loses whatever the pipe could not hold by then.
 */
function cliLateReader(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let open = false;
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      if (!open) return;
      for (let chunk = child.stdout.read() as Buffer | null; chunk !== null; chunk = child.stdout.read() as Buffer | null) stdout += chunk.toString();
    };
    child.stdout.on('readable', () => {
      timer ??= setTimeout(() => {
        open = true;
        pump();
      }, 1500);
      pump();
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', () => {
      open = true;
      pump();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (status, signal) => {
      clearTimeout(kill);
      clearTimeout(timer);
      pump();
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Runs the CLI; the consumer closes its end of stdout after the first line (as `| head -1`). */
function cliHead1(args: string[]): Promise<Run & { firstLine: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (stdout.includes('\n')) child.stdout.destroy();
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (status, signal) => {
      clearTimeout(kill);
      resolve({ status, signal, stdout, stderr, firstLine: stdout.split('\n')[0] });
    });
  });
}

/** Runs the CLI to the end, reading everything (test/helpers/cli.ts). */
const cli = (args: string[]): Promise<Run> => runCli(CLI, args, 240_000);

/** No raw Node error text and no stack trace in what the user sees. */
function expectCoded(r: Run): void {
  expect(r.stderr).toMatch(/^Error: /m);
  expect(r.stderr).not.toMatch(/ENOENT: no such file|EEXIST: file already exists|ENOTDIR: not a directory|EACCES: permission denied|SyntaxError/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('stdout reaches the consumer', () => {
  it('predict: all 1000 lines arrive at a consumer that starts reading late, exit 0', async (ctx) => {
    if (!built) return ctx.skip();
    const r = await cliLateReader(['predict', '--model', model, '--backend', 'wasm', images]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1000);
    const rows = lines.map((l) => JSON.parse(l) as { input: string; predictions: { class: string }[] });
    expect(rows[0].input).toBe(path.join(images, 'image_0000.png'));
    expect(rows[999].input).toBe(path.join(images, 'image_0999.png'));
    expect(rows[999].predictions.map((p) => p.class).sort()).toEqual(CLASSES);
  }, 300_000);

  it('a consumer that stops reading (| head -1) ends predict and fine-tune --json quietly: no EPIPE, no stack trace', async (ctx) => {
    if (!built) return ctx.skip();
    const p = await cliHead1(['predict', '--model', model, '--backend', 'wasm', images]);
    expect(JSON.parse(p.firstLine)).toMatchObject({ input: path.join(images, 'image_0000.png') });
    expect(p.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(p.status).toBe(0);
    // fine-tune keeps writing JSON events while it trains: the first write after the close fails with EPIPE.
    const f = await cliHead1(['fine-tune', '--model', base, '--data', classes, '--out', path.join(tmp(), 'run'), '--json', '--backend', 'wasm', '--head-epochs', '2', '--epochs', '1', '--batch', '2', '--val-split', '0.25']);
    expect(JSON.parse(f.firstLine)).toMatchObject({ type: 'start' });
    expect(f.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(f.status).toBe(0);
  }, 300_000);
});

describe('coded file-system and JSON errors on user paths', () => {
  it("a run folder's or a study's broken JSON names the file and the position", async (ctx) => {
    if (!built) return ctx.skip();
    const run = path.join(tmp(), 'run');
    fs.cpSync(model, path.join(run, 'model'), { recursive: true });
    fs.writeFileSync(path.join(run, 'config.json'), '{\n  "status": "completed",\n  "config": { "model": "mobilenet_v2", }\n}\n');
    const ev = await cli(['predict', '--model', run, '--backend', 'wasm', path.join(images, 'image_0000.png')]);
    expect(ev.status).toBe(1);
    expectCoded(ev);
    expect(ev.stderr).toContain(`The run configuration ${path.join(run, 'config.json')} is not valid JSON at line 3, column 40`);

    const interrupted = path.join(tmp(), 'interrupted');
    fs.mkdirSync(interrupted);
    fs.writeFileSync(path.join(interrupted, 'config.json'), '{"status": "interrupted", "config": {"model": "x"');
    const resume = await cli(['fine-tune', '--resume', interrupted]);
    expect(resume.status).toBe(1);
    expectCoded(resume);
    expect(resume.stderr).toContain(`The run configuration ${path.join(interrupted, 'config.json')} is not valid JSON at the end of the file (it is cut short)`);
    fs.writeFileSync(path.join(interrupted, 'config.json'), '{"status": "interrupted"}');
    const shape = await cli(['fine-tune', '--resume', interrupted]);
    expectCoded(shape);
    expect(shape.stderr).toMatch(/is not one transferkit fine-tune wrote: it has no "config" object/);

    const study = path.join(tmp(), 'study.json');
    fs.writeFileSync(study, '{"objective": "./objective.mjs",\n "space": {"lr": [1e-4, 1e-2]]}');
    const tune = await cli(['tune', '--config', study]);
    expect(tune.status).toBe(1);
    expectCoded(tune);
    expect(tune.stderr).toContain(`The study configuration ${study} is not valid JSON at line 2, column 30`);
  }, 120_000);

  it('outputs that cannot be written are refused up front with the path and the fix', async (ctx) => {
    if (!built) return ctx.skip();
    const dir = tmp();
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    // evaluate --out naming an existing file (was: EEXIST from mkdir, after the evaluation).
    const ev = await cli(['evaluate', '--model', model, '--data', classes, '--out', file, '--backend', 'wasm']);
    expect(ev.status).toBe(1);
    expectCoded(ev);
    expect(ev.stderr).toContain(`--out ${file} is a file; outputs go into a folder.`);
    // fine-tune --out below a file (was: ENOTDIR from mkdir).
    const ft = await cli(['fine-tune', '--model', base, '--data', classes, '--out', path.join(file, 'run'), '--backend', 'wasm']);
    expect(ft.status).toBe(1);
    expectCoded(ft);
    expect(ft.stderr).toContain(`${file} is a file, not a folder`);
    // extract-features into a folder that does not exist (was: ENOENT from open, after extracting).
    const missing = path.join(dir, 'no-such-folder', 'features.safetensors');
    const fx = await cli(['extract-features', '--model', base, '--data', classes, '--out', missing, '--backend', 'wasm']);
    expect(fx.status).toBe(1);
    expectCoded(fx);
    expect(fx.stderr).toContain(`the output folder ${path.dirname(missing)} does not exist`);
    expect(fx.stderr).toMatch(/Create the folder \(mkdir -p .*\) or pass another --out/);
    // predict on a text file that does not exist is already coded; a folder given as --config is named.
    const tune = await cli(['tune', '--config', dir]);
    expectCoded(tune);
    expect(tune.stderr).toContain(`Cannot read ${dir}: it is a folder, not a file.`);
  }, 120_000);
});

describe('the helpers behind those messages', () => {
  it('fine-tune --feature-layer reaches loadPretrained: an unknown layer is named, a known one is stored in the run config', async (ctx) => {
    if (!built) return ctx.skip();
    const bad = await cli(['fine-tune', '--model', base, '--data', classes, '--out', path.join(tmp(), 'run'), '--backend', 'cpu', '--feature-layer', 'no_such_layer', '--quiet']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/No layer named 'no_such_layer' \(featureLayer\)/);
    const out = path.join(tmp(), 'run2');
    const ok = await cli(['fine-tune', '--model', base, '--data', classes, '--out', out, '--backend', 'cpu', '--feature-layer', 'block_1_add', '--head-epochs', '1', '--epochs', '0', '--batch', '2', '--val-split', '0.25', '--quiet']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).config.featureLayer).toBe('block_1_add');
  });

  it('jsonErrorOffset finds where JSON breaks (iteratively: deep nesting cannot overflow)', () => {
    expect(jsonErrorOffset('{"a": [1, 2, {"b": null}], "c": "x"}')).toBe(-1);
    expect(jsonErrorOffset('{"a": 1,}')).toBe(8);
    expect(jsonErrorOffset('{"a" 1}')).toBe(5);
    expect(jsonErrorOffset('[1, 2')).toBe(5);
    expect(jsonErrorOffset('{"a": tru}')).toBe(6);
    expect(jsonErrorOffset('{"a": "\\q"}')).toBe(8);
    expect(jsonErrorOffset('[1] x')).toBe(4);
    expect(jsonErrorOffset('-')).toBe(0);
    expect(jsonErrorOffset(`${'['.repeat(200_000)}x`)).toBe(200_000);
  });

  it('readJsonFile names the file, line, column and position; fsError maps codes to the fix', () => {
    const dir = tmp();
    const f = path.join(dir, 'c.json');
    fs.writeFileSync(f, '{\n  "a": 1,\n  "b": }\n');
    expect(() => readJsonFile(f, 'run configuration', 'Restore it.')).toThrow(expect.objectContaining({ code: 'E_IO_FORMAT', message: expect.stringContaining(`The run configuration ${f} is not valid JSON at line 3, column 8 (position 19, near "}\\n")`) }));
    fs.writeFileSync(f, '');
    expect(() => readJsonFile(f, 'run configuration', 'Restore it.')).toThrow(/is not valid JSON \(the file is empty\)/);
    expect(() => readJsonFile(path.join(dir, 'none.json'), 'run configuration', 'x', '--model')).toThrow(expect.objectContaining({ code: 'E_IO_NOT_FOUND', message: expect.stringMatching(/Cannot read .*none\.json: there is no file or folder at that path\. Received: --model=.*\(ENOENT on open\)/) }));
    const err = (code: string, syscall: string, p: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: raw, ${syscall} '${p}'`), { code, syscall, path: p });
    expect(fsError(err('ENOENT', 'open', '/x/y/out.json'), '/x/y/out.json', 'write', '--out').message).toMatch(/Cannot write \/x\/y\/out\.json: the output folder \/x\/y does not exist\..*Create it \(mkdir -p \/x\/y\), or pass another --out\./);
    expect(fsError(err('EACCES', 'open', '/r/o'), '/r/o', 'write', '--out')).toMatchObject({ code: 'E_IO_WRITE', message: expect.stringMatching(/permission denied.*Choose a folder you can write to, or pass another --out/) });
    expect(fsError(err('ENOSPC', 'write', '/d/f'), '/d/f', 'write').message).toMatch(/the disk is full/);
    expect(fsError(err('EEXIST', 'mkdir', '/d/f'), '/d/f', 'write', '--out').message).toMatch(/Cannot create the folder \/d\/f: a file of that name exists/);
    // The safety net in the CLI's main: raw errors from deep inside become coded ones; others pass.
    expect(codedFsError(err('EACCES', 'scandir', '/p'))?.message).toMatch(/Cannot read \/p: permission denied/);
    expect(codedFsError(new Error('plain'))).toBeNull();
  });

  it('checkOutputDir / checkOutputFile accept creatable paths and refuse files in the way', () => {
    const dir = tmp();
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'x');
    expect(() => checkOutputDir(path.join(dir, 'new', 'deeper'), '--out')).not.toThrow();
    expect(fs.existsSync(path.join(dir, 'new'))).toBe(false); // checked, not created
    expect(() => checkOutputDir(file, '--out')).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => checkOutputDir(path.join(file, 'x'), '--out')).toThrow(/cannot be created: .* is a file, not a folder/);
    expect(() => checkOutputFile(path.join(dir, 'out.safetensors'), '--out')).not.toThrow();
    expect(() => checkOutputFile(dir, '--out')).toThrow(/is a folder; it must name a file/);
    expect(() => checkOutputFile(path.join(dir, 'missing', 'o.safetensors'), '--out')).toThrow(expect.objectContaining({ code: 'E_IO_WRITE', message: expect.stringContaining('does not exist') }));
  });
});
