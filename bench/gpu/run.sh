#!/bin/bash
# Runs on the GPU machine from the repository root, with .gpu/ and .gl/ (bench/gpu/prepare.sh)
# carried over: webgpu correctness against wasm on MobileNetV2, then the train/inference
# throughput of webgpu (Dawn over Vulkan) and PyTorch CUDA on the same model, batch and input.
set -u
BUNDLE=.gpu
. "$(dirname "$0")/_setup.sh"
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
