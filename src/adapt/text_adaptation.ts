/**
 * Domain adaptation of text models (BERT family) by domain-adaptive pretraining — the
 * DomainAdapter's `'mlm'` method: continue masked-LM pretraining of the encoder on unlabeled
 * target-domain text, then fine-tune on the labelled source (Gururangan et al. 2020, "Don't Stop
 * Pretraining: Adapt Language Models to Domains and Tasks", DAPT; Han & Eisenstein 2019 for the
 * unsupervised-adaptation setting). `'source-only'` is the same fine-tuning without the MLM phase,
 * the baseline to compare against.
 *
 * The feature-alignment methods (DANN, CORAL, MMD, self-training) work on tensor features; use
 * them on a text model's pooled features through `DomainAdapter` on a LayersModel instead.
 */
import { TransferKitError } from '../errors.js';
import { evaluateText, fineTuneText, type FineTuneTextOptions, type TextClassificationData, type TextEpochLog } from '../transfer/fine_tune_text.js';
import { pretrainMaskedLM, type MaskedLMOptions, type MaskedLMResult } from '../transfer/masked_lm.js';
import type { TextModel } from '../models/text/text_model.js';

/** Data of a text adaptation run. */
export interface TextAdaptationData {
  /** Labelled source-domain texts. */
  source: TextClassificationData;
  /** Unlabelled target-domain texts. */
  target: { texts: string[] };
  /** Labelled source validation texts (select the fine-tuning epoch). */
  sourceVal?: TextClassificationData;
  /** Labelled target texts, for reporting only (never used for training or selection). */
  targetVal?: TextClassificationData;
}

/** Options of {@link adaptTextModel}. */
export interface TextAdaptationOptions {
  /** `'mlm'` (default): masked-LM on target text, then fine-tune; `'source-only'`: fine-tune only. */
  method?: 'mlm' | 'source-only';
  /** Masked-LM phase options (default: 1 epoch over the target texts, lr 5e-5 for a pretrained encoder). */
  mlm?: MaskedLMOptions;
  /** Also pretrain on the source texts (task-adaptive pretraining, TAPT-style; default false). */
  mlmOnSource?: boolean;
  /** Fine-tuning options (the HF recipe of `fineTuneText`). */
  fineTune?: FineTuneTextOptions;
  /**
   * Checkpoint both phases under `dir`: the masked-LM phase in `dir/masked-lm`, fine-tuning in
   * `dir/fine-tune` (each as its own function writes them). Overrides the phases' own `checkpoint`.
   */
  checkpoint?: { dir: string; everyEpochs?: number; everySteps?: number };
  /**
   * Continue a run checkpointed with `checkpoint` (same model, data and options): from its
   * fine-tuning checkpoint when there is one (the masked-LM phase was done; `mlm` is then absent
   * from the result), else from its masked-LM checkpoint. The weights equal an uninterrupted run's.
   */
  resumeFrom?: string;
}

/** What {@link adaptTextModel} did. */
export interface TextAdaptationResult {
  model: TextModel;
  method: 'mlm' | 'source-only';
  mlm?: Omit<MaskedLMResult, 'head'>;
  history: TextEpochLog[];
  /** True when `signal` (in the fine-tune or masked-LM options) stopped a phase early; later phases did not run. */
  interrupted?: boolean;
  /** Accuracy on `targetVal` after adaptation (reporting only). */
  targetValAccuracy?: number;
}

/** Adapts a text classifier to a target domain (see module doc). */
export async function adaptTextModel(tm: TextModel, data: TextAdaptationData, options: TextAdaptationOptions = {}): Promise<TextAdaptationResult> {
  const method = options.method ?? 'mlm';
  if (method !== 'mlm' && method !== 'source-only') throw new TransferKitError('E_BAD_OPTION', `Text adaptation supports 'mlm' and 'source-only'. Received: method='${String(method)}'.`);
  if (data.target.texts.length === 0 && method === 'mlm') throw new TransferKitError('E_DATA', "Method 'mlm' needs unlabeled target texts; data.target.texts is empty.");
  const phaseDir = (root: string, phase: 'masked-lm' | 'fine-tune') => `${root.replace(/[\\/]+$/, '')}/${phase}`;
  const save = (phase: 'masked-lm' | 'fine-tune') => (options.checkpoint !== undefined ? { checkpoint: { ...options.checkpoint, dir: phaseDir(options.checkpoint.dir, phase) } } : {});
  // Resume: fine-tuning's checkpoint when it has one (masked-LM finished before it began), else masked-LM's.
  let resumeFineTune = false;
  if (options.resumeFrom !== undefined) {
    const { peekCheckpoint } = await import('../train/checkpoint.js');
    const has = async (dir: string) => peekCheckpoint(dir).then(() => true, (err: unknown) => ((err as { code?: string }).code === 'E_IO_NOT_FOUND' ? false : Promise.reject(err)));
    resumeFineTune = await has(phaseDir(options.resumeFrom, 'fine-tune'));
    if (!resumeFineTune && (method !== 'mlm' || !(await has(phaseDir(options.resumeFrom, 'masked-lm'))))) {
      throw new TransferKitError('E_IO_NOT_FOUND', `No text-adaptation checkpoint under ${options.resumeFrom} (expected ${phaseDir(options.resumeFrom, 'fine-tune')}${method === 'mlm' ? ` or ${phaseDir(options.resumeFrom, 'masked-lm')}` : ''}). Pass the folder given as checkpoint.dir.`);
    }
  }
  let mlm: Omit<MaskedLMResult, 'head'> | undefined;
  if (method === 'mlm' && !resumeFineTune) {
    const texts = options.mlmOnSource === true ? [...data.target.texts, ...data.source.texts] : data.target.texts;
    const resume = options.resumeFrom !== undefined ? { resumeFrom: phaseDir(options.resumeFrom, 'masked-lm') } : {};
    const { head: _head, ...rest } = await pretrainMaskedLM(tm, texts, { learningRate: 5e-5, ...options.mlm, ...save('masked-lm'), ...resume, keepHead: false });
    void _head;
    mlm = rest;
    // Stopped during masked-LM: the fine-tuning phase does not start.
    if (rest.interrupted === true) return { model: tm, method, history: [], mlm, interrupted: true };
  }
  const resume = resumeFineTune ? { resumeFrom: phaseDir(options.resumeFrom as string, 'fine-tune') } : {};
  const ft = await fineTuneText(tm, data.source, { ...options.fineTune, ...save('fine-tune'), ...resume, ...(data.sourceVal !== undefined ? { validation: data.sourceVal } : {}) });
  const out: TextAdaptationResult = { model: tm, method, history: ft.history, ...(mlm !== undefined ? { mlm } : {}), ...(ft.interrupted === true ? { interrupted: true } : {}) };
  if (data.targetVal !== undefined) out.targetValAccuracy = (await evaluateText(tm, data.targetVal, { maxLength: options.fineTune?.maxLength ?? 128 })).accuracy;
  return out;
}
