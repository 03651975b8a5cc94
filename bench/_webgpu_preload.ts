/**
 * Loads Dawn and TF.js's webgpu backend with literal imports, before useBackend('webgpu').
 *
 * Why: the library imports its optional peers through variable specifiers (so applications'
 * bundlers never try to resolve a peer the user did not install); a benchmark bundled for a GPU
 * machine without node_modules needs the backend inside the bundle instead, sharing the bundle's
 * one copy of tfjs-core. useBackend then finds navigator.gpu and the registered factory.
 */
import { installDawn } from '../src/backends/webgpu_node.js';

export async function preloadWebgpu(): Promise<void> {
  const dawn = await import('webgpu');
  const flags = (process.env.TK_DAWN_FLAGS ?? '').split(',').filter((f) => f.length > 0);
  await installDawn(dawn as unknown as Parameters<typeof installDawn>[0], process.env.TRANSFERKIT_DAWN_BACKEND, flags);
  await import('@tensorflow/tfjs-backend-webgpu');
}
