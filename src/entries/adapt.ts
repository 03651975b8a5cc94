/**
 * `transferkit/adapt`: Domain adaptation: DomainAdapter and its parts (the losses of DANN, CORAL, MMD and self-training, the gradient reversal layer, AdaBN, label-shift correction, unsupervised validators, text adaptation).
 * @packageDocumentation
 */
export { DomainAdapter } from '../adapt/domain_adapter.js';
export { gradientReverse, warmStartCoefficient, GradientReversal, type WarmStartOptions } from '../adapt/gradient_reversal.js';
export { coralLoss, covariance, type CoralVariant } from '../adapt/losses/coral.js';
export { mkmmdLoss, gaussianKernelMatrix, mmdIndexMatrix, DAN_KERNEL_ALPHAS, type MmdOptions } from '../adapt/losses/mmd.js';
export { predictionEntropy, entropyLoss } from '../adapt/losses/entropy.js';
export { selfTrainingLoss, pseudoLabels } from '../adapt/losses/self_training.js';
export { domainAdversarialLoss, domainDiscriminator, type DomainDiscriminatorOptions } from '../adapt/losses/domain_adversarial.js';
export { adaBN, type AdaBNOptions, type AdaBNReport } from '../adapt/adabn.js';
export { labelShift, emTargetPriors, fitCalibration, type LabelShiftOptions, type LabelShiftReport, type LabelShiftCalibration } from '../adapt/label_shift.js';
export { adaptTextModel, type TextAdaptationData, type TextAdaptationOptions, type TextAdaptationResult } from '../adapt/text_adaptation.js';
export { scoreModel, higherIsBetter, type ValidatorName, type ValidationData } from '../adapt/validators/score.js';
export { sndScore } from '../adapt/validators/snd.js';
export { entropyScore } from '../adapt/validators/entropy.js';
export { devRisk, importanceWeights, type ImportanceWeightOptions } from '../adapt/validators/dev.js';
export { featuresAndProbs } from '../adapt/validators/outputs.js';
