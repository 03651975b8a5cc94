/**
 * `DomainAdapter`: the typed interface of domain adaptation (a model trained on a labelled
 * *source* domain, adapted to an unlabelled *target* domain). This release defines the
 * interface only; the methods are implemented in a later release, and calling `fit` now
 * throws `E_NOT_IMPLEMENTED` rather than pretending to adapt.
 *
 * Reference: tllib (Transfer-Learning-Library), ADAPT; Ganin et al. 2016 (DANN),
 * Sun & Saenko 2016 (Deep CORAL), Long et al. 2015 (DAN / MMD), Li et al. 2016 (AdaBN).
 */
import { TransferKitError } from '../errors.js';
import type { LabeledData } from '../data/dataset.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import type { EpochLog } from '../transfer/fine_tune.js';

/** Adaptation methods (see the DomainAdapter issue for their exact semantics). */
export type AdaptationMethod = 'dann' | 'coral' | 'mmd' | 'adabn' | 'self-training' | 'mlm';

/** Options of a {@link DomainAdapter}. */
export interface DomainAdapterOptions {
  /** The adaptation method. */
  method: AdaptationMethod;
  /** Epochs of adaptation. */
  epochs?: number;
  /** Weight of the adaptation loss (lambda). */
  tradeoff?: number;
  /** Seed. */
  seed?: number;
}

/** Data of one adaptation run: labelled source, unlabelled target. */
export interface AdaptationData {
  /** Labelled source-domain data. */
  source: LabeledData;
  /** Unlabelled target-domain inputs. */
  target: { xs: LabeledData['xs'] };
  /** Labelled source validation data (model selection). */
  sourceVal?: LabeledData;
  /** Labelled target validation data, for reporting only (never used for training). */
  targetVal?: LabeledData;
}

/** Result of {@link DomainAdapter.fit}. */
export interface AdaptationResult {
  /** The adapted model. */
  model: PretrainedModel;
  /** Per-epoch figures. */
  history: EpochLog[];
}

/** Adapts a source-trained model to a target domain. */
export class DomainAdapter {
  /** The options it was built with. */
  readonly options: DomainAdapterOptions;

  constructor(options: DomainAdapterOptions) {
    this.options = options;
  }

  /** Adapts `model` with `data`. Not implemented in this release: throws `E_NOT_IMPLEMENTED`. */
  async fit(model: PretrainedModel, data: AdaptationData): Promise<AdaptationResult> {
    void model;
    void data;
    throw new TransferKitError('E_NOT_IMPLEMENTED', `DomainAdapter method '${this.options.method}' is not implemented in this release; only the interface exists. Track the DomainAdapter issue.`);
  }
}
