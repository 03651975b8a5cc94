#!/bin/bash
# Runs on the GPU machine from the repository root, with .gpu/ and .gl/ (bench/gpu/prepare.sh)
# carried over: webgpu correctness against wasm on MobileNetV2, then the train/inference
# throughput of webgpu (Dawn over Vulkan) and PyTorch CUDA on the same model, batch and input.
set -u
OUT=${OUT:-/tmp/tk-gpu-out}
mkdir -p "$OUT"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
# The NVIDIA driver's Vulkan ICD and EGL vendor files live under /usr/local/nvidia there.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1 && [ -f $icd ]; then export VK_DRIVER_FILES=$icd; fi
if [ -f $egl ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$egl; fi
NODE=$(command -v node || true)
if [ -z "$NODE" ] || ! "$NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node
fi
xz -dc .gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz > .gpu/node_modules/webgpu/dist/linux-x64/dawn.node
{ date -u; "$NODE" --version; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())'; } 2>&1 | tee "$OUT/env.txt"
cd .gpu
# Per-kernel GPU time (timestamp queries need Dawn's allow_unsafe_apis) of one 224 px train step.
for sz in 224 96; do
  TK_DAWN_FLAGS=enable-dawn-features=allow_unsafe_apis timeout 120 "$NODE" webgpu-profile.mjs --model model --size $sz --batch 32 2>"$OUT/profile-$sz.err" | tee "$OUT/profile-$sz.json" | cut -c1-700
done
timeout 150 "$NODE" webgpu-check.mjs --model model --size 96 --batch 8 > "$OUT/check.log" 2>&1
grep -v -E '^Warning|^$' "$OUT/check.log" | tail -4 | cut -c1-1500
timeout ${BENCH_TIMEOUT:-360} "$NODE" train-throughput.mjs --backends webgpu --sizes "${SIZES:-224,96}" --batch 32 --steps 5 --model model \
  --torch-device cuda --python python3 --timeout 150 2>"$OUT/bench.err" | tee "$OUT/bench.jsonl"
tail -c 1500 "$OUT/bench.err"
