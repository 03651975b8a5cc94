/** Half-precision decoding shared by the weight readers (safetensors, Keras .h5, PyTorch .pth). */

/** IEEE 754 half-precision bits to a number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** `n` little-endian float16 values of `view` as float32. */
export function float16ToFloat32(view: DataView, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(2 * i, true)));
}

/** `n` little-endian bfloat16 values of `view` as float32 (the upper half of each float32). */
export function bfloat16ToFloat32(view: DataView, n: number): Float32Array {
  const out = new Float32Array(n);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) u[i] = view.getUint16(2 * i, true) << 16;
  return out;
}
