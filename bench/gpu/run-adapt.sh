#!/bin/bash
# Runs on the GPU machine from the repository root with .gpu-adapt/ and .gl/ carried
# (bench/gpu/prepare-adapt.sh): the MNIST → MNIST-M benchmark on WebGPU, one process per
# (seed, method), all at once (each process is dispatch-bound on one CPU core; the GPU has room).
set -u
OUT=${OUT:-/tmp/tk-gpu-out}
STEPS=${STEPS:-2000}
LIMIT=${LIMIT:-480}
mkdir -p "$OUT" /tmp/adapt
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1 && [ -f $icd ]; then export VK_DRIVER_FILES=$icd; fi
if [ -f $egl ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$egl; fi
NODE=$(command -v node || true)
if [ -z "$NODE" ] || ! "$NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  xz -dc .gpu-adapt/node.xz > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node
fi
xz -dc .gpu-adapt/node_modules/webgpu/dist/linux-x64/dawn.node.xz > .gpu-adapt/node_modules/webgpu/dist/linux-x64/dawn.node
{ date -u; "$NODE" --version; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; } 2>&1 | tee "$OUT/env.txt"
cd .gpu-adapt
export TRANSFERKIT_ASSETS=$PWD/assets
for seed in ${SEEDS:-0 1 2}; do
  for m in source-only,adabn dann coral mmd; do
    tag=$seed-${m%%,*}
    timeout "$LIMIT" "$NODE" digits.mjs --backend webgpu --steps "$STEPS" --seeds "$seed" --methods "$m" --cache-dir cache --progress --bn true --disc-layers 2 \
      > "/tmp/adapt/$tag.jsonl" 2> "/tmp/adapt/$tag.err" &
  done
done
wait
cat /tmp/adapt/*.jsonl | grep -v '"summary"' > "$OUT/digits-webgpu.jsonl"
for f in /tmp/adapt/*.err; do echo "== $f"; grep -v -E '^Warning|^$|^ +at ' "$f" | tail -5; done > "$OUT/digits-webgpu.err" 2>&1
grep -v progress "$OUT/digits-webgpu.jsonl" | cut -c1-400
tail -c 3000 "$OUT/digits-webgpu.err"
