/**
 * The browser example: pick or drop images into two or more classes, fine-tune a head on
 * MobileNetV2 (transferkit's browser entry, features cached so epochs are instant), watch the loss
 * curve live, then classify new images. Build: `npx vite build examples/browser`; serve the output
 * with a MobileNetV2 TF.js model folder at ./model/ (npm run example:browser does both).
 */
// The package, as an application imports it (build it first: `npm run build`; example:browser does).
// Bundlers pick its "browser" build; the wasm backend's binary ships inside it, so nothing else
// needs configuring. The webgl backend is the application's own choice (?backend=webgl).
import '@tensorflow/tfjs-backend-webgl';
import { fineTune, loadPretrained, predict, replaceHead, tf, useBackend, type PretrainedModel } from 'transferkit/browser';
import { resizeCropImage } from 'transferkit/io';

/** A minimal SVG line chart of the loss per epoch. */
function lossChart(losses: [number, number][]): string {
  const W = 460, H = 240, pad = 36;
  const xMax = Math.max(1, ...losses.map(([e]) => e));
  const yMax = Math.max(1e-6, ...losses.map(([, l]) => l));
  const pts = losses.map(([e, l]) => `${(pad + ((W - 2 * pad) * e) / xMax).toFixed(1)},${(H - pad - ((H - 2 * pad) * l) / yMax).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-size="11"><text x="${W / 2}" y="14" text-anchor="middle">Training loss (live)</text>` +
    `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="black"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="black"/>` +
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">epoch (1–${xMax})</text><text x="4" y="${pad - 6}">${yMax.toFixed(3)}</text>` +
    `<polyline fill="none" stroke="#1f77b4" stroke-width="1.8" points="${pts}"/></svg>`;
}

interface ClassBox { name: HTMLInputElement; files: File[]; thumbs: HTMLElement }

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = (s: string): void => void ($('status').textContent = s);
const boxes: ClassBox[] = [];
let base: PretrainedModel | null = null;
let trained: PretrainedModel | null = null;

function addClass(name: string): void {
  const div = document.createElement('div');
  div.className = 'class';
  div.dataset.index = String(boxes.length);
  const input = document.createElement('input');
  input.type = 'text';
  input.value = name;
  const pick = document.createElement('input');
  pick.type = 'file';
  pick.accept = 'image/*';
  pick.multiple = true;
  pick.className = 'class-files';
  const thumbs = document.createElement('div');
  thumbs.className = 'thumbs';
  div.append(input, document.createElement('br'), pick, thumbs);
  const box: ClassBox = { name: input, files: [], thumbs };
  const add = (files: FileList | null): void => {
    for (const f of Array.from(files ?? []).filter((f) => f.type.startsWith('image/'))) {
      box.files.push(f);
      const img = document.createElement('img');
      img.src = URL.createObjectURL(f);
      thumbs.append(img);
    }
  };
  pick.addEventListener('change', () => add(pick.files));
  div.addEventListener('dragover', (e) => (e.preventDefault(), div.classList.add('over')));
  div.addEventListener('dragleave', () => div.classList.remove('over'));
  div.addEventListener('drop', (e) => (e.preventDefault(), div.classList.remove('over'), add(e.dataTransfer?.files ?? null)));
  $('classes').append(div);
  boxes.push(box);
}

/**
 * The image as the model's input, resized exactly as Node's `loadImageFolder` does (antialiased
 * resize of the shorter side, centre crop; `resizeCropImage`), not squashed to the input's aspect
 * ratio: a model trained in Node then sees the same pixels here, and the other way round.
 */
async function toTensor(file: File, pm: PretrainedModel): Promise<tf.Tensor3D> {
  const [h, w] = pm.inputShape;
  const bitmap = await createImageBitmap(file);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgb = resizeCropImage(ctx.getImageData(0, 0, canvas.width, canvas.height), [h, w]);
  const { scale, offset } = pm.preprocessing as { scale: number; offset: number };
  for (let i = 0; i < rgb.length; i++) rgb[i] = rgb[i] * scale + offset;
  return tf.tensor3d(rgb, [h, w, 3]);
}

async function train(): Promise<void> {
  if (base === null) return;
  const used = boxes.filter((b) => b.files.length > 0);
  if (used.length < 2) return status('Add images to at least two classes first.');
  const classNames = used.map((b) => b.name.value || 'class');
  status(`preparing ${used.reduce((a, b) => a + b.files.length, 0)} images…`);
  const images: tf.Tensor3D[] = [];
  const labels: number[] = [];
  for (const [k, b] of used.entries()) for (const f of b.files) {
    images.push(await toTensor(f, base));
    labels.push(k);
  }
  const xs = tf.stack(images);
  tf.dispose(images);
  trained?.model.dispose();
  trained = replaceHead(base, { numClasses: classNames.length, classNames, seed: 1 });
  const losses: [number, number][] = [];
  const epochs = Number(($('epochs') as HTMLInputElement).value) || 10;
  const t0 = performance.now();
  const { history } = await fineTune(trained, { xs, labels: Int32Array.from(labels), classNames }, {
    recipe: 'feature-extraction', headEpochs: epochs, epochs: 0, batchSize: 16, headLearningRate: 1e-3, seed: 1, progress: 'silent',
    onEpochEnd: (l) => {
      losses.push([l.epoch, l.loss]);
      $('chart').innerHTML = lossChart(losses);
      status(`epoch ${l.epoch}/${epochs}: loss ${l.loss.toFixed(4)}, accuracy ${(100 * l.accuracy).toFixed(1)} %`);
    },
  });
  xs.dispose();
  const last = history[history.length - 1];
  status(`trained: ${history.length} epochs, training accuracy ${(100 * last.accuracy).toFixed(1)} % (${((performance.now() - t0) / 1000).toFixed(1)} s). Now try new images.`);
  ($('predict-files') as HTMLInputElement).disabled = false;
  document.body.dataset.state = 'trained';
}

async function classify(files: File[]): Promise<void> {
  if (trained === null) return;
  const out = $('predictions');
  out.innerHTML = '';
  for (const f of files) {
    const x = tf.expandDims(await toTensor(f, trained));
    const probs = predict(trained, x);
    const row = Array.from(await probs.data());
    tf.dispose([x, probs]);
    const k = row.indexOf(Math.max(...row));
    const div = document.createElement('div');
    div.className = 'pred';
    div.dataset.file = f.name;
    div.dataset.label = trained.classNames?.[k] ?? String(k);
    div.innerHTML = `<img src="${URL.createObjectURL(f)}"><br><b>${div.dataset.label}</b> ${(100 * row[k]).toFixed(0)} %`;
    out.append(div);
  }
  document.body.dataset.state = 'predicted';
}

async function main(): Promise<void> {
  addClass('class 1');
  addClass('class 2');
  $('add-class').addEventListener('click', () => addClass(`class ${boxes.length + 1}`));
  $('train').addEventListener('click', () => void train().catch((e: unknown) => status(`error: ${String(e)}`)));
  $('predict-files').addEventListener('change', (e) => void classify(Array.from((e.target as HTMLInputElement).files ?? [])));
  // ?backend=cpu|wasm|webgl|webgpu (default wasm: transferkit registers the gradient kernels it lacks).
  const backend = new URLSearchParams(location.search).get('backend') ?? 'wasm';
  await useBackend(backend as 'wasm');
  base = await loadPretrained(new URL('./model/', location.href).href);
  status(`MobileNetV2 loaded (${base.model.layers.length} layers, backend ${tf.getBackend()}). Add images to each class, then Train.`);
  document.body.dataset.state = 'ready';
}

main().catch((e: unknown) => status(`error: ${String(e)}`));
