import { beforeAll } from 'vitest';
import { useBackend, type BackendInfo } from '../../src/index.js';

/**
 * Starts the webgpu backend before a test file's tests (Dawn; llvmpipe without a GPU). `info` is
 * null when it cannot start, `why` then says why (tests skip with it).
 */
export function webgpuForTests(): { info: BackendInfo | null; why: string } {
  const state: { info: BackendInfo | null; why: string } = { info: null, why: '' };
  beforeAll(async () => {
    try {
      state.info = await useBackend('webgpu');
    } catch (err) {
      state.why = (err as Error).message;
    }
  }, 120_000);
  return state;
}
