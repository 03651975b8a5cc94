# Sourced by the GPU runners (run.sh, run-adapt.sh) on the device machine: unpacks the carried
# EGL/Vulkan loaders (.gl/), points them at the NVIDIA driver's ICD/EGL files, and sets NODE to a
# Node >= 20 (the machine's, else the carried $BUNDLE/node.xz) and unpacks $BUNDLE's dawn.node.
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
  xz -dc "$BUNDLE/node.xz" > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node
fi
xz -dc "$BUNDLE/node_modules/webgpu/dist/linux-x64/dawn.node.xz" > "$BUNDLE/node_modules/webgpu/dist/linux-x64/dawn.node"
