/**
 * A BERT in both forms from the same weights, for the frozen-encoder example and benchmark when no
 * published ONNX encoder is at hand: transferkit builds it (random weights, a WordPiece vocabulary
 * learned from `texts`) and saves the Hugging Face folder; scripts/onnx_export_bert.py (Debian's
 * python3-torch) exports the ONNX graph in transformers.js' layout beside it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TextModel } from 'transferkit';
import { TextTokenizer, buildTextModel, buildWordPieceVocab, saveTextModel } from 'transferkit/text';
import { repoRoot } from './_assets.js';

export interface BertOnnxFixture {
  /** The HF folder (config.json, model.safetensors, tokenizer files). */
  hfDir: string;
  /** The transformers.js folder (config.json, tokenizer files, onnx/model.onnx). */
  onnxDir: string;
  /** The TF.js model of the same weights. */
  textModel: TextModel;
}

/** Builds the fixture under `dir` (same shape and seed: same weights). */
export async function bertOnnxFixture(dir: string, shape: { layers: number; hidden: number; heads: number; vocabSize: number; seed: number }, texts: readonly string[]): Promise<BertOnnxFixture> {
  const hfDir = path.join(dir, 'hf');
  const onnxDir = path.join(dir, 'onnx-encoder');
  const vocab = buildWordPieceVocab(texts, { vocabSize: shape.vocabSize });
  const tm = buildTextModel(
    { model_type: 'bert', vocab_size: vocab.length, hidden_size: shape.hidden, num_hidden_layers: shape.layers, num_attention_heads: shape.heads, intermediate_size: 4 * shape.hidden, max_position_embeddings: 512 },
    { task: 'base', seed: shape.seed },
  );
  tm.tokenizer = TextTokenizer.fromVocab(vocab, { modelMaxLength: 512 });
  await saveTextModel(tm, hfDir);
  const python = process.env.TRANSFERKIT_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(python, [path.join(repoRoot, 'scripts', 'onnx_export_bert.py'), hfDir, onnxDir], { encoding: 'utf8' });
  if (r.status !== 0 || !fs.existsSync(path.join(onnxDir, 'onnx', 'model.onnx'))) {
    throw new Error(`Exporting the fixture to ONNX needs ${python} with torch (apt-get install python3-torch): ${r.stderr || r.error?.message}`);
  }
  return { hfDir, onnxDir, textModel: tm };
}
