/**
 * WebGPU in Node through Dawn (the `webgpu` npm package, prebuilt `dawn.node`).
 *
 * Why a module of its own: TF.js's webgpu backend reads `navigator.gpu` when it is evaluated and
 * asks for an adapter with default options, which fails on the two set-ups people actually have:
 * - a real GPU (NVIDIA/AMD): Dawn's default Vulkan backend gives a core adapter; nothing to do;
 * - no GPU (CI, servers): Vulkan's CPU driver (lavapipe) lacks features Dawn needs, so the only
 *   adapter is OpenGL ES on Mesa's llvmpipe, and only at `featureLevel: 'compatibility'` and with
 *   `EGL_PLATFORM=surfaceless` (no display). TF.js does not pass that feature level, so the
 *   adapter request is wrapped to add it.
 * Dawn's `null` backend answers every request with zeros: it is never used.
 * Measured facts: ../shared/NOTES-runtime.md ("WebGPU in Node").
 */

/** Which Dawn backend gave the adapter, and what the adapter is. */
export interface GpuAdapterInfo {
  /** Dawn backend: `'vulkan'` (real GPUs on Linux), `'opengles'` (llvmpipe fallback), `'d3d12'`, `'metal'`, or `'default'`. */
  dawnBackend: string;
  /** Feature level the adapter was requested at. */
  featureLevel: 'core' | 'compatibility';
  /** The adapter's own words: device, vendor, architecture, description. */
  device: string;
  vendor: string;
  architecture: string;
  description: string;
  /** True for software rasterisers (llvmpipe, lavapipe, SwiftShader): correct but slow. */
  software: boolean;
}

interface DawnAdapter {
  info: { vendor: string; architecture: string; device: string; description: string };
}
interface DawnGpu {
  requestAdapter(o?: Record<string, unknown>): Promise<DawnAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: object;
}

let chosen: GpuAdapterInfo | null = null;

/** The adapter {@link installDawn} chose (null before, or outside Node). */
export function dawnAdapterInfo(): GpuAdapterInfo | null {
  return chosen;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe/i;

/**
 * Creates `navigator.gpu` from Dawn, trying the platform default (Vulkan on Linux) first and
 * OpenGL ES at compatibility level second. `prefer` forces one (`'vulkan'`, `'opengles'`, ...).
 * `extraFlags` go to Dawn as they are (e.g. `enable-dawn-features=allow_unsafe_apis` for
 * timestamp queries when profiling). Returns null when no adapter exists; the caller turns that
 * into a clear error. `probeOnly` reports the adapter without installing `navigator.gpu`.
 */
export async function installDawn(dawn: DawnModule, prefer?: string, extraFlags: string[] = [], probeOnly = false): Promise<GpuAdapterInfo | null> {
  const attempts: Array<{ dawnBackend: string; featureLevel: 'core' | 'compatibility' }> =
    prefer !== undefined
      ? [{ dawnBackend: prefer, featureLevel: prefer === 'opengles' || prefer === 'opengl' ? 'compatibility' : 'core' }]
      : [
          { dawnBackend: 'default', featureLevel: 'core' },
          { dawnBackend: 'opengles', featureLevel: 'compatibility' },
        ];
  if (prefer === 'null') return null;
  Object.assign(globalThis, dawn.globals);
  for (const a of attempts) {
    // EGL must find no display on a headless machine; read by Mesa when Dawn opens EGL.
    if (a.dawnBackend === 'opengles' && process.env.EGL_PLATFORM === undefined) process.env.EGL_PLATFORM = 'surfaceless';
    const gpu = dawn.create([...(a.dawnBackend === 'default' ? [] : [`backend=${a.dawnBackend}`]), ...extraFlags]);
    let adapter: DawnAdapter | null;
    try {
      adapter = await gpu.requestAdapter({ featureLevel: a.featureLevel });
    } catch {
      adapter = null;
    }
    if (adapter === null) continue;
    const info = adapter.info;
    const found: GpuAdapterInfo = {
      ...a,
      device: info.device,
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      software: SOFTWARE.test(`${info.device} ${info.description}`),
    };
    if (probeOnly) return found;
    chosen = found;
    const original = gpu.requestAdapter.bind(gpu);
    gpu.requestAdapter = (o: Record<string, unknown> = {}) => original({ ...o, featureLevel: a.featureLevel });
    const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown };
    // Node 21+ defines a read-only global navigator; define the property instead of assigning.
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
    return chosen;
  }
  return null;
}
