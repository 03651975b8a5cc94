/**
 * Builds the browser example with Vite and serves it on http://127.0.0.1:5173 with a MobileNetV2
 * at ./model/: `--model DIR` (a TF.js layers folder), else the ImageNet-initialised MobileNetV2
 * that the nsfwjs npm package ships (decoded once into the cache; no ../shared needed).
 *
 *   npm run example:browser [-- --model ../shared/models/mobilenet_v2_0.35_224_teachable] [--port 5173]
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { nsfwjsMobileNetV2 } from '../_npm_assets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { model: { type: 'string' }, port: { type: 'string', default: '5173' } } });
const model = values.model ?? nsfwjsMobileNetV2();
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'transferkit-browser-example-'));
await build({ root: here, logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.css': 'text/css', '.wasm': 'application/wasm' };
http.createServer((req, res) => {
  const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
  const file = url.startsWith('/model/') ? path.join(model, url.slice('/model/'.length)) : path.join(out, url === '/' ? 'index.html' : url);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
}).listen(Number(values.port), '127.0.0.1', () => console.log(`open http://127.0.0.1:${values.port}/ (model: ${model})`));
