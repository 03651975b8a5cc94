/**
 * The frozen encoders currently loaded, so `backendInfo()` can report where the frozen part runs
 * (ONNX Runtime for ONNX encoders) beside the TF.js backend that trains the head.
 */

/** What an encoder embeds. */
export type EncoderModality = 'text' | 'image';

/** Where a frozen encoder computes (what `backendInfo().encoders` lists). */
export interface EncoderRuntime {
  /** `'onnxruntime-node'`, `'onnxruntime-web'` or `'tfjs'`. */
  runtime: 'onnxruntime-node' | 'onnxruntime-web' | 'tfjs';
  /** The execution provider (ONNX Runtime) or the TF.js backend name. */
  device: string;
  /** Threads it computes with, when set explicitly. */
  threads?: number;
}

/** What the registry needs of an encoder (a FrozenEncoder has it; backends/ sits below models/). */
interface LiveEncoder {
  readonly id: string;
  readonly modality: EncoderModality;
  readonly dim: number;
  readonly runtime: EncoderRuntime;
}

const live = new Set<LiveEncoder>();

/** Records a loaded encoder (called by the loaders). */
export function registerLiveEncoder(e: LiveEncoder): void {
  live.add(e);
}

/** Forgets a disposed encoder. */
export function unregisterLiveEncoder(e: LiveEncoder): void {
  live.delete(e);
}

/** One loaded encoder and where it computes. */
export interface LiveEncoderInfo extends EncoderRuntime {
  /** The encoder's id (folder, Hub id or model source). */
  id: string;
  /** What it embeds. */
  modality: EncoderModality;
  /** Embedding width. */
  dim: number;
}

/** The loaded encoders, oldest first. */
export function liveEncoders(): LiveEncoderInfo[] {
  return [...live].map((e) => ({ id: e.id, modality: e.modality, dim: e.dim, ...e.runtime }));
}
