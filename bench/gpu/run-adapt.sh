#!/bin/bash
# Runs on the GPU machine from the repository root with .gpu-adapt/ and .gl/ carried
# (bench/gpu/prepare-adapt.sh): the MNIST → MNIST-M benchmark on WebGPU, one process per
# (seed, method), all at once (each process is dispatch-bound on one CPU core; the GPU has room).
# EXTRA adds digits.ts flags; to repeat the 2026-11-28 table (the defaults before binarised
# sources and the discriminator on the conv features): EXTRA="--binarize-source false --feature-layer fc2".
set -u
STEPS=${STEPS:-2000}
LIMIT=${LIMIT:-480}
BUNDLE=.gpu-adapt
. "$(dirname "$0")/_setup.sh"
mkdir -p /tmp/adapt
{ date -u; "$NODE" --version; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; } 2>&1 | tee "$OUT/env.txt"
cd .gpu-adapt
export TRANSFERKIT_ASSETS=$PWD/assets
for seed in ${SEEDS:-0 1 2}; do
  for m in source-only,adabn dann coral mmd; do
    tag=$seed-${m%%,*}
    timeout "$LIMIT" "$NODE" digits.mjs --backend webgpu --steps "$STEPS" --seeds "$seed" --methods "$m" --cache-dir cache --progress --bn true --disc-layers 2 ${EXTRA:-} \
      > "/tmp/adapt/$tag.jsonl" 2> "/tmp/adapt/$tag.err" &
  done
done
wait
cat /tmp/adapt/*.jsonl | grep -v '"summary"' > "$OUT/digits-webgpu.jsonl"
for f in /tmp/adapt/*.err; do echo "== $f"; grep -v -E '^Warning|^$|^ +at ' "$f" | tail -5; done > "$OUT/digits-webgpu.err" 2>&1
grep -v progress "$OUT/digits-webgpu.jsonl" | cut -c1-400
tail -c 3000 "$OUT/digits-webgpu.err"
