/**
 * The frozen encoders currently loaded, so `backendInfo()` can report where the frozen part runs
 * (ONNX Runtime for ONNX encoders) beside the TF.js backend that trains the head.
 */
import type { EncoderRuntime, FrozenEncoder } from './frozen_encoder.js';

const live = new Set<FrozenEncoder>();

/** Records a loaded encoder (called by the loaders). */
export function registerLiveEncoder(e: FrozenEncoder): void {
  live.add(e);
}

/** Forgets a disposed encoder. */
export function unregisterLiveEncoder(e: FrozenEncoder): void {
  live.delete(e);
}

/** One loaded encoder and where it computes. */
export interface LiveEncoderInfo extends EncoderRuntime {
  /** The encoder's id (folder, Hub id or model source). */
  id: string;
  /** What it embeds. */
  modality: FrozenEncoder['modality'];
  /** Embedding width. */
  dim: number;
}

/** The loaded encoders, oldest first. */
export function liveEncoders(): LiveEncoderInfo[] {
  return [...live].map((e) => ({ id: e.id, modality: e.modality, dim: e.dim, ...e.runtime }));
}
