/**
 * transferkit — the core entry for pages (and any runtime without Node's file system): the six
 * primitives (`loadPretrained`, `freeze`, `replaceHead`, `fineTune`, `LRSchedule`,
 * `DomainAdapter`), backends, evaluation and prediction, callbacks, errors and the types they
 * need. Everything else lives in subpath entries (`transferkit/text`, `/adapt`, `/schedules`,
 * `/optimizers`, `/train`, `/io`, `/models`, `/encoders`, `/datasets`, `/peft`, `/tune`,
 * `/backends`). `loadPretrained` takes URLs here; file-based IO is in the Node entry.
 * @packageDocumentation
 */
// The TF.js that transferkit runs on, so application code shares its engine, backends and tensors
// (a second copy of tfjs-core would keep its own backend registry and tensor class).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
export { tf, tfl };

export { TransferKitError, isTransferKitError, type ErrorCode } from './errors.js';
export { setInputLimits, inputLimits, type InputLimits } from './utils/limits.js';
export { useBackend, backendInfo, type BackendName, type BackendInfo, type UseBackendOptions } from './backends/backend.js';
export { doctor, type DoctorReport, type BackendProbe } from './backends/doctor.js';
export type { GpuAdapterInfo } from './backends/webgpu_node.js';
export { loadPretrained, type LoadPretrainedOptions } from './pretrained/load_pretrained.js';
export type { PretrainedModel, Preprocessing, HeadTask, EncoderData, ModelHandle } from './models/pretrained_model.js';
export { isFrozenEncoder, type FrozenEncoder, type EncoderInput, type EncoderPooling, type EncoderModality, type EncoderRuntime } from './models/frozen_encoder.js';
export { extractFeatures, type ExtractFeaturesOptions, type ExtractedFeatures } from './encoders/extract_features.js';
export type { LiveEncoderInfo } from './backends/live_encoders.js';
export { freeze, unfreeze, type LayerSpec, type FreezeOptions } from './transfer/freeze.js';
export { summary, type ModelSummary, type LayerSummary } from './transfer/summary.js';
export type { BatchNormMode } from './layers/batch_norm.js';
export { replaceHead, type ReplaceHeadOptions, type TextHeadOptions } from './transfer/replace_head.js';
export { recipes, type FineTuneRecipe, type RecipeStage, type TwoStageOptions, type FastaiOptions, type GradualUnfreezeOptions, type FeatureExtractionOptions, type FullOptions, type HfRecipeOptions, type TextRecipe } from './transfer/recipes/index.js';
export { fineTune, type FineTuneOptions, type FineTuneResult, type FineTuneStage, type EpochLog, type Stage, type Recipe } from './transfer/fine_tune.js';
export { evaluate, predict, type EvaluateResult, type EvaluateOptions, type OutputsEvaluation } from './train/evaluate.js';
export { classificationReport, confusionMatrix, type ClassificationReport } from './metrics/classification.js';
export { findLearningRate, type LRFinderOptions, type LRFinderResult, type LRSuggestion } from './train/lr_finder.js';
export type { OptimizerName, OptimizerSpec } from './train/optimizers.js';
export type { Callback, TrainingContext, BatchLog, TrainingLog } from './callbacks/callback.js';
export { progressReporter, type ProgressEvent, type ProgressOption } from './callbacks/progress.js';
export { EarlyStopping, type EarlyStoppingOptions, type Monitor } from './callbacks/early_stopping.js';
export { LRSchedule } from './schedules/schedule.js';
export { schedules } from './schedules/index.js';
export { fromTfDataset, type LabeledData, type Batch, type StreamingData, type TrainData } from './data/dataset.js';
export { trainValSplit, kFoldSplit } from './data/split.js';
export { DomainAdapter, type AdaptationMethod, type DomainAdapterOptions, type AdaptationData, type AdaptationResult, type AdaptationEpochLog, type AdaptableModel } from './adapt/domain_adapter.js';
export type { TransferModel, UnnarrowedModel } from './models/transfer_model.js';
export { isTextModel, type TextModel, type TextModelOptions, type TextTask, type TextFamily, type TextConfig, type TextInputName } from './models/text/text_model.js';
export type { TextEvaluateOptions } from './train/evaluate_text.js';
export type { TextClassificationData, FineTuneTextOptions, FineTuneTextResult, TextEpochLog, TextEvaluation } from './transfer/fine_tune_text.js';
