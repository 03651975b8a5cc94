#!/bin/bash
# Builds .gpu-adapt/: what bench/gpu/run-adapt.sh needs on a GPU machine without network: the
# digits adaptation benchmark bundled with tfjs (Dawn external), a trimmed `webgpu` package, the
# MNIST files and the MNIST-M images generated here (cached by a 1-step wasm run), and this
# machine's node binary. The EGL/Vulkan loader packages come from .gl/ (bench/gpu/prepare.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
assets=${TRANSFERKIT_ASSETS:-../shared}
# Generate (and cache) MNIST-M here, once.
npx tsx bench/adaptation/digits.ts --steps 1 --seeds 0 --methods source-only --cache-dir runs/cache >/dev/null
rm -rf .gpu-adapt && mkdir -p .gpu-adapt/node_modules/webgpu/dist/linux-x64 .gpu-adapt/assets/data/mnist .gpu-adapt/cache
banner="import { createRequire as __cr } from 'module'; import { fileURLToPath as __fu } from 'url'; import { dirname as __dn } from 'path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
npx esbuild bench/adaptation/digits.ts --bundle --platform=node --format=esm --target=node18 --external:webgpu "--external:./wasm/tfjs-backend-wasm*" --log-level=error "--banner:js=$banner" --outfile=.gpu-adapt/digits.mjs
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm .gpu-adapt/
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .gpu-adapt/node_modules/webgpu/
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu-adapt/node_modules/webgpu/dist/linux-x64/dawn.node.xz
cp "$assets"/data/mnist/* .gpu-adapt/assets/data/mnist/
cp runs/cache/mnist_m-*.bin .gpu-adapt/cache/
xz -T2 -6 -c "$(command -v node)" > .gpu-adapt/node.xz
du -sh .gpu-adapt
