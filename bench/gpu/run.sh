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
for sz in ${PROFILE_SIZES:-224}; do
  TK_DAWN_FLAGS=enable-dawn-features=allow_unsafe_apis timeout 120 "$NODE" webgpu-profile.mjs --model model --size $sz --batch 32 2>"$OUT/profile-$sz.err" | tee "$OUT/profile-$sz.json" | cut -c1-700
done
timeout 150 "$NODE" webgpu-check.mjs --model model --size 96 --batch 8 > "$OUT/check.log" 2>&1
grep -v -E '^Warning|^$' "$OUT/check.log" | tail -4 | cut -c1-1500
# Batch 32 and 128 (the issue's two sizes); each line carries dispatchesPerStep beside samples/s.
for b in ${BATCHES:-32 128}; do
  timeout ${BENCH_TIMEOUT:-180} "$NODE" train-throughput.mjs --backends webgpu --models "${MODELS:-mobilenet_v2,resnet50}" --sizes "${SIZES:-224}" --batch $b --steps 5 --model model \
    --torch-device cuda --python python3 --timeout 150 2>"$OUT/bench-$b.err" | tee "$OUT/bench-$b.jsonl"
  tail -c 1500 "$OUT/bench-$b.err"
done
