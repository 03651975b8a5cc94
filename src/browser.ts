/**
 * transferkit for browsers (and any runtime without Node's file system): every primitive that
 * does not read or write local files. `loadPretrained` takes URLs here; file-based IO (folders,
 * .h5/.keras/.safetensors files, downloads into a cache, checkpoints) is in the Node entry.
 * @packageDocumentation
 */
export { TransferKitError, isTransferKitError, type ErrorCode } from './errors.js';

// The TF.js that transferkit runs on, so application code shares its engine, backends and tensors
// (a second copy of tfjs-core would keep its own backend registry and tensor class).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
export { tf, tfl };

export { useBackend, backendInfo, type BackendName, type BackendInfo, type UseBackendOptions } from './backends/backend.js';
export { doctor, type DoctorReport, type BackendProbe } from './backends/doctor.js';
export type { GpuAdapterInfo } from './backends/webgpu_node.js';
export { TRAINING_KERNEL_NAMES, missingTrainingKernels, registerWasmTrainingKernels } from './backends/register_training_kernels.js';

export { httpLoader, type HttpLoaderOptions } from './io/http.js';
export { flattenTopology, type ModelTopology } from './io/flatten_topology.js';

export { loadPretrained, type LoadPretrainedOptions } from './pretrained/load_pretrained.js';
export type { PretrainedModel, Preprocessing, HeadTask, EncoderData } from './models/pretrained_model.js';
// Frozen encoders (feature extraction): one interface for ONNX encoders (Node entry) and TF.js models.
export { isFrozenEncoder, type FrozenEncoder, type EncoderInput, type EncoderPooling, type EncoderModality, type EncoderRuntime } from './models/frozen_encoder.js';
export { textEncoder, imageEncoder, type TextEncoderOptions, type ImageEncoderOptions } from './encoders/tfjs_encoder.js';
export { extractFeatures, type ExtractFeaturesOptions, type ExtractedFeatures } from './encoders/extract_features.js';
export { poolTokenStates } from './encoders/pooling.js';
export type { LiveEncoderInfo } from './backends/live_encoders.js';

export { freeze, unfreeze, selectLayers, type LayerSpec, type FreezeOptions } from './transfer/freeze.js';
export { setInferenceFolding } from './layers/fold_batch_norm.js';
export { summary, type ModelSummary, type LayerSummary } from './transfer/summary.js';
export { batchNormMode, setBatchNormMode, type BatchNormMode } from './layers/batch_norm.js';
export { replaceHead, type ReplaceHeadOptions, type TextHeadOptions } from './transfer/replace_head.js';
export { resizeCropImage, type ImageResizeOptions, type ResizableImage } from './data/resize_image.js';
export { defaultUnfreezeFrom } from './transfer/block_boundaries.js';
export { fineTune, type FineTuneOptions, type FineTuneResult, type FineTuneStage, type EpochLog, type Stage, type Recipe } from './transfer/fine_tune.js';
export { evaluate, evaluateOutputs, predict, type EvaluateResult, type EvaluateOptions, type OutputsEvaluation } from './train/evaluate.js';
export { predictTta, type TtaOptions } from './train/tta.js';
export { classificationReport, confusionMatrix, topKAccuracy, rocAuc, argmaxRows, type ClassificationReport } from './metrics/classification.js';
export { findLearningRate, valley, steep, minimum, type LRFinderOptions, type LRFinderResult, type LRSuggestion } from './train/lr_finder.js';
export type { OptimizerName, OptimizerSpec } from './train/optimizers.js';
export { trainStep, trainStepAsync, trainStepPending, type TrainStepArgs, type StepResult, type PendingStepResult } from './train/train_step.js';
export { crossEntropy, binaryCrossEntropy, meanSquaredError, taskLoss, type LossOptions } from './train/losses.js';
export type { Callback, TrainingContext, BatchLog, TrainingLog } from './callbacks/callback.js';
export { progressReporter, type ProgressEvent, type ProgressOption } from './callbacks/progress.js';
export { EarlyStopping, type EarlyStoppingOptions, type Monitor } from './callbacks/early_stopping.js';
export { Optimizer, type ParamGroup, type ResolvedParamGroup, type OptimizerState } from './optimizers/optimizer.js';
export { Adam, AdamW, type AdamOptions } from './optimizers/adam.js';
export { SGD, type SGDOptions } from './optimizers/sgd.js';
export { RMSprop, type RMSpropOptions } from './optimizers/rmsprop.js';
export { clipGradNorm } from './optimizers/clip_grad_norm.js';
export { paramGroups, layerGroups, discriminativeLrs, evenMults, layerDecayScales, isNoDecay, type ParamGroupsOptions } from './transfer/param_groups.js';

export { LRSchedule, PiecewiseSchedule, type ScheduleConfig, type ScheduleSegment } from './schedules/schedule.js';
export { ConstantSchedule } from './schedules/constant.js';
export { StepDecay } from './schedules/step_decay.js';
export { MultiStepDecay } from './schedules/multi_step_decay.js';
export { ExponentialDecay } from './schedules/exponential_decay.js';
export { PolynomialDecay } from './schedules/polynomial_decay.js';
export { CosineDecay } from './schedules/cosine_decay.js';
export { CosineDecayRestarts } from './schedules/cosine_decay_restarts.js';
export { LinearWarmup } from './schedules/linear_warmup.js';
export { LinearScheduleWithWarmup } from './schedules/linear_schedule_with_warmup.js';
export { CosineScheduleWithWarmup } from './schedules/cosine_schedule_with_warmup.js';
export { InverseDecay } from './schedules/inverse_decay.js';
export { OneCycle, type OneCycleOptions } from './schedules/one_cycle.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './schedules/reduce_lr_on_plateau.js';
export { scheduleFromConfig } from './schedules/registry.js';
export { schedules } from './schedules/index.js';

export { fromTfDataset, isStreaming, type LabeledData, type Batch, type StreamingData, type TrainData } from './data/dataset.js';
export { trainValSplit, splitIndices, kFoldSplit, foldIndices, subset } from './data/split.js';
export { parseReviews, reviewText, type Review } from './data/text/reviews.js';
export { BagOfWords, tokenizeWords, ngrams, type BagOfWordsOptions, type TermWeighting } from './data/text/bag_of_words.js';
export { parseIdx, type IdxArray } from './data/datasets/idx.js';
export { makeMnistM, type MnistMOptions } from './data/datasets/mnist_m.js';

export {
  DomainAdapter,
  type AdaptationMethod,
  type DomainAdapterOptions,
  type AdaptationData,
  type AdaptationResult,
  type AdaptationEpochLog,
  type AdaptableModel,
} from './adapt/domain_adapter.js';
export { gradientReverse, warmStartCoefficient, GradientReversal, type WarmStartOptions } from './adapt/gradient_reversal.js';
export { coralLoss, covariance, type CoralVariant } from './adapt/losses/coral.js';
export { mkmmdLoss, gaussianKernelMatrix, mmdIndexMatrix, DAN_KERNEL_ALPHAS, type MmdOptions } from './adapt/losses/mmd.js';
export { predictionEntropy, entropyLoss } from './adapt/losses/entropy.js';
export { selfTrainingLoss, pseudoLabels } from './adapt/losses/self_training.js';
export { domainAdversarialLoss, domainDiscriminator, type DomainDiscriminatorOptions } from './adapt/losses/domain_adversarial.js';
export { adaBN, type AdaBNOptions, type AdaBNReport } from './adapt/adabn.js';
export { adaptTextModel, type TextAdaptationData, type TextAdaptationOptions, type TextAdaptationResult } from './adapt/text_adaptation.js';
export { scoreModel, higherIsBetter, type ValidatorName, type ValidationData } from './adapt/validators/score.js';
export { sndScore } from './adapt/validators/snd.js';
export { entropyScore } from './adapt/validators/entropy.js';
export { devRisk, importanceWeights, type ImportanceWeightOptions } from './adapt/validators/dev.js';
export { featuresAndProbs } from './adapt/validators/outputs.js';
export { stopGradient } from './ops/stop_gradient.js';
export { zooIds, pretrainedConfig, buildZooModel, type PretrainedConfig, type WeightSource } from './models/vision/registry.js';
export { vgg16 } from './models/vision/vgg16.js';
export { resnet50 } from './models/vision/resnet50.js';
export { resnet18 } from './models/vision/resnet18.js';
export { mobilenetV2, type MobileNetV2Options } from './models/vision/mobilenet_v2.js';
export type { BuildOptions } from './models/vision/_util.js';
export { copyWeightsByName, type WeightCopyReport } from './io/weights_by_name.js';
export { loadTorchStateDict, torchvisionVgg16Mapping, type StateDictMapping } from './io/torch_state_dict.js';
export { efficientnetB0 } from './models/vision/efficientnet_b0.js';
export { augmentBatch, hasRandomAugment, resizedCropParams, type AugmentOptions } from './data/augment.js';
export { IMAGENET_CLASSES } from './models/vision/imagenet_classes.js';
export { mobilenetV2Torchvision } from './models/vision/mobilenet_v2_tv.js';
// Text models (BERT family), tokenization, the HF fine-tuning recipe, masked-LM, LoRA.
export type { ModelHandle } from './models/pretrained_model.js';
export { isTextModel, type TextModel, type TextModelOptions, type TextTask, type TextFamily, type TextConfig, type TextInputName } from './models/text/text_model.js';
export type { TextEvaluateOptions } from './train/evaluate_text.js';
export { buildTextModel, parseTextConfig } from './models/text/build_text_model.js';
export { parseBertConfig, BERT_DEFAULTS, type BertConfig } from './models/text/bert/config.js';
export { parseDistilBertConfig, DISTILBERT_DEFAULTS, type DistilBertConfig } from './models/text/distilbert/config.js';
export { parseRobertaConfig, type RobertaConfig } from './models/text/roberta/config.js';
export { TEXT_FAMILIES, textFamily } from './models/text/registry.js';
export type { TextFamilySpec } from './models/text/family.js';
export type { EncoderNames, BlockNames } from './models/text/encoder.js';
export type { EncoderSpec } from './models/text/encoder.js';
export { TextEmbeddings, type TextEmbeddingsArgs } from './models/text/layers/text_embeddings.js';
export { LayerNorm, type LayerNormArgs } from './models/text/layers/layer_norm.js';
export { Gelu, gelu, type GeluApproximation } from './models/text/layers/gelu.js';
export { MultiHeadAttention, type MultiHeadAttentionArgs } from './models/text/layers/multi_head_attention.js';
export { FirstToken, MaskedMeanPooling } from './models/text/layers/pooling.js';
export { MaskedLMHead } from './models/text/heads/masked_lm_head.js';
export { loadHfWeights, type HfWeightsOptions, type TextLoadReport } from './models/text/hf_weights.js';
export { hfKeyMap, type HfKeyEntry } from './models/text/hf_key_map.js';
export { textInputs } from './models/text/inputs.js';
export { TextTokenizer, padBatch, lengthGroupedBatches, type EncodedText, type TextBatch, type EncodeOptions } from './data/text/tokenizer.js';
export { wordPieceTokenizerJson, parseVocab, type WordPieceOptions } from './data/text/wordpiece_json.js';
export { buildWordPieceVocab, bertWords, BERT_SPECIAL_TOKENS, type BuildVocabOptions } from './data/text/build_vocab.js';
export {
  fineTuneText,
  evaluateText,
  textParamGroups,
  type TextClassificationData,
  type FineTuneTextOptions,
  type FineTuneTextResult,
  type TextEpochLog,
  type TextEvaluation,
} from './transfer/fine_tune_text.js';
export { pretrainMaskedLM, maskTokens, type MaskedLMOptions, type MaskedLMResult } from './transfer/masked_lm.js';
export { applyLoRA, mergeLoRA, hasLoRA, loraDelta, type LoRAOptions, type LoRAReport } from './peft/lora.js';
export { choice, uniform, logUniform, int, sampleConfig, gridConfigs, type Dimension, type SearchSpace, type TrialConfig } from './tune/space.js';
export { Asha, quantile, type AshaOptions } from './tune/asha.js';
export { metricVsParameterSvgs, ladderSvg } from './tune/plots.js';
