/** What preprocessing a model's inputs need (data/ reads it; models/ declare it). */
/**
 * How raw pixels in [0, 255] become model inputs: `x * scale + offset`, per channel when arrays.
 * MobileNet-family Keras weights use scale 1/127.5, offset -1 (inputs in [-1, 1]).
 */
export interface Preprocessing {
  /** Multiplier applied to pixels in [0, 255]. */
  scale: number | [number, number, number];
  /** Added after scaling. */
  offset: number | [number, number, number];
  /** Where this setting came from (metadata file, option, or a default). */
  source: string;
}
