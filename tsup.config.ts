import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', browser: 'src/browser.ts', cli: 'src/cli/main.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // TF.js packages stay external: users share one engine instance with their own code.
  external: [/^@tensorflow\//, /^@huggingface\//, 'webgpu', 'jpeg-js', 'pngjs', 'fflate', 'h5wasm', 'sharp'],
});
