/**
 * Saves a text model in the Hugging Face layout — `config.json`, `model.safetensors` (HF tensor
 * names, PyTorch `[out, in]` kernels, metadata `format: pt` as transformers requires) and the
 * tokenizer files (`tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`, and
 * `vocab.txt` for WordPiece) — so Python `transformers` loads it with `from_pretrained`, and
 * `loadTextModel` reads it back. LoRA adapters are written merged (the model is not changed).
 * The folder is replaced atomically.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';
import { hfKeyMap } from './hf_key_map.js';
import { writeSafetensors, type SafeTensor } from '../../io/safetensors.js';
import { writeDirAtomically } from '../../io/_atomic.js';
import { loraDelta } from '../../peft/lora.js';
import { TEXT_FAMILIES } from './registry.js';
import type { MaskedLMHead } from './heads/masked_lm_head.js';
import type { TextModel } from './text_model.js';

const PROBLEM = { multiclass: 'single_label_classification', multilabel: 'multi_label_classification', regression: 'regression' } as const;

/** Options of {@link saveTextModel}. */
export interface SaveTextModelOptions {
  /** Also write a masked-LM head (`cls.predictions.*`); the folder then loads as `*ForMaskedLM`. */
  maskedLMHead?: MaskedLMHead;
}

/** The `config.json` object `saveTextModel` writes. */
export function hfConfigOf(tm: TextModel, withMlm = false): Record<string, unknown> {
  const { architectures: _a, id2label: _i, ...rest } = tm.config as unknown as Record<string, unknown>;
  void _a;
  void _i;
  const cfg: Record<string, unknown> = { ...rest, architectures: [TEXT_FAMILIES[tm.family].architectures[withMlm ? 'mlm' : tm.task]] };
  if (tm.task === 'sequence-classification' || tm.task === 'token-classification') {
    const n = tm.model.outputs[0].shape[tm.model.outputs[0].shape.length - 1] as number;
    const names = tm.classNames ?? Array.from({ length: n }, (_, i) => `LABEL_${i}`);
    cfg.id2label = Object.fromEntries(names.map((l, i) => [String(i), l]));
    cfg.label2id = Object.fromEntries(names.map((l, i) => [l, i]));
    if (tm.task === 'sequence-classification') cfg.problem_type = PROBLEM[tm.problemType];
  }
  return cfg;
}

/** HF-named tensors of `tm` (merged LoRA), plus the masked-LM head's. */
export async function hfTensorsOf(tm: TextModel, head?: MaskedLMHead): Promise<Map<string, SafeTensor>> {
  const out = new Map<string, SafeTensor>();
  const put = async (key: string, t: tf.Tensor): Promise<void> => {
    if (out.has(key)) throw new TransferKitError('E_MODEL_TOPOLOGY', `Two weights map to the HF name '${key}'.`);
    out.set(key, { dtype: 'float32', shape: [...t.shape], data: (await t.data()) as Float32Array });
  };
  const prefixed = tm.task === 'sequence-classification' || tm.task === 'token-classification' || head !== undefined;
  // A masked-LM export is `*ForMaskedLM`: encoder + MLM head, without the pooler or a task head.
  const skip = head === undefined ? new Set<string>() : new Set([...tm.headLayers, ...tm.model.layers.filter((l) => l.name.startsWith('pooler.')).map((l) => l.name)]);
  for (const e of hfKeyMap(tm.model, tm.family, prefixed)) {
    if (skip.has(e.layer.name)) continue;
    const delta = e.transpose ? loraDelta(e.layer) : null;
    const value = tf.tidy(() => {
      const v = delta === null ? e.variable.read() : tf.add(e.variable.read(), delta);
      return e.transpose ? tf.transpose(v) : tf.clone(v);
    });
    delta?.dispose();
    await put(e.key, value);
    value.dispose();
  }
  if (head !== undefined) {
    const named = head.namedTensors();
    for (const [k, t] of Object.entries(named)) await put(k, t);
    // Variables are the head's own; the rest (the transposed kernel) are copies made for us.
    tf.dispose(Object.values(named).filter((t) => !(t instanceof tf.Variable)));
  }
  return out;
}

/**
 * The files of a Hugging Face model folder: replaced by a save and never carried over from the
 * old folder (a stale `pytorch_model.bin` or tokenizer beside the new files would be loaded).
 */
export function ownsHfFile(rel: string): boolean {
  return /^(config\.json|generation_config\.json|model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json|pytorch_model(-\d+-of-\d+)?\.bin|pytorch_model\.bin\.index\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json|vocab\.txt|vocab\.json|merges\.txt)$/.test(rel);
}

/**
 * Writes `tm` to `dir` in the Hugging Face layout (see module doc).
 * @example
 * ```ts
 * await saveTextModel(tm, './sst2-bert');   // then in Python: AutoModelForSequenceClassification.from_pretrained('./sst2-bert')
 * ```
 */
export async function saveTextModel(tm: TextModel, dir: string, options: SaveTextModelOptions = {}): Promise<void> {
  const head = options.maskedLMHead;
  const tensors = await hfTensorsOf(tm, head);
  if (head !== undefined) {
    // The decoder is tied to the word embeddings; write it under its own name too (transformers re-ties on load).
    const fam = TEXT_FAMILIES[tm.family];
    const emb = tensors.get(`${fam.basePrefix}embeddings.word_embeddings.weight`);
    if (emb !== undefined) tensors.set(fam.mlm.decoder, emb);
  }
  await writeDirAtomically(dir, async (tmp) => {
    await fsp.writeFile(path.join(tmp, 'config.json'), `${JSON.stringify(hfConfigOf(tm, head !== undefined), null, 2)}\n`);
    writeSafetensors(path.join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
    const tok = tm.tokenizer;
    if (tok === undefined) return;
    await fsp.writeFile(path.join(tmp, 'tokenizer.json'), JSON.stringify(tok.json));
    await fsp.writeFile(path.join(tmp, 'tokenizer_config.json'), `${JSON.stringify(tok.config, null, 2)}\n`);
    const model = tok.json.model as { type?: string; vocab?: Record<string, number> };
    const specials: Record<string, string> = {};
    for (const role of ['unk', 'sep', 'pad', 'cls', 'mask']) {
      const configured = tok.config[`${role}_token`];
      const name = typeof configured === 'string' ? configured : `[${role.toUpperCase()}]`;
      if (tok.tokenToId(name) !== undefined) specials[`${role}_token`] = name;
    }
    await fsp.writeFile(path.join(tmp, 'special_tokens_map.json'), `${JSON.stringify(specials, null, 2)}\n`);
    if (model.type === 'WordPiece' && model.vocab !== undefined) {
      // Line number = id: the original lines when known, else the map with unused slots filled.
      let lines = tok.vocabLines;
      if (lines === undefined) {
        const byId: string[] = [];
        for (const [t, id] of Object.entries(model.vocab)) byId[id] = t;
        lines = Array.from(byId, (t, i) => t ?? `[unused${i}]`);
      }
      await fsp.writeFile(path.join(tmp, 'vocab.txt'), `${lines.join('\n')}\n`);
    }
  }, ownsHfFile);
}
