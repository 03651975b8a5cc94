#!/bin/bash
# Builds .gpu/: everything bench/gpu/run.sh needs on a GPU machine that has no network and maybe
# no Node: the two benchmarks bundled with tfjs (one copy of tfjs-core; Dawn stays external),
# the wasm binaries, a trimmed `webgpu` package (linux-x64 dawn.node only), the MobileNetV2
# weights from the shared assets, this machine's node binary, and the PyTorch reference script.
# The Vulkan/EGL loader packages go to .gl/ (see ../.library/device/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
assets=${TRANSFERKIT_ASSETS:-../shared}
rm -rf .gpu && mkdir -p .gpu/node_modules/webgpu/dist/linux-x64 .gpu/model
banner="import { createRequire as __cr } from 'module'; import { fileURLToPath as __fu } from 'url'; import { dirname as __dn } from 'path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
for e in train-throughput webgpu-check webgpu-profile; do
  npx esbuild "bench/$e.ts" --bundle --platform=node --format=esm --target=node18 --external:webgpu "--external:./wasm/tfjs-backend-wasm*" --log-level=error "--banner:js=$banner" --outfile=".gpu/$e.mjs"
done
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm bench/torch_cnn.py .gpu/
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .gpu/node_modules/webgpu/
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz
cp "$assets"/models/mobilenet_v2_1.0_224_nsfwjs/* .gpu/model/
xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
if [ ! -d .gl ]; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .gpu .gl
