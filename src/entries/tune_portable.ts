/**
 * `transferkit/tune` for pages (the "browser" export condition): everything of the Node entry that does not read or write local files.
 * @packageDocumentation
 */
export { choice, uniform, logUniform, int, sampleConfig, gridConfigs, type Dimension, type SearchSpace, type TrialConfig } from '../tune/space.js';
export { Asha, type AshaOptions } from '../tune/asha.js';
export { metricVsParameterSvgs, ladderSvg } from '../tune/plots.js';
