/**
 * The classic recipe of fine-tuning BERT for sentiment analysis (Devlin et al. 2019; SST-2 of the
 * GLUE benchmark), in TF.js: load a BERT, put a 2-class head on it, fine-tune with the Hugging
 * Face recipe (AdamW 2e-5..5e-5, weight decay 0.01 except biases/LayerNorm, 10 % linear warmup
 * then linear decay, clipping at 1.0), report dev accuracy.
 *
 *   npx tsx examples/bert-sentiment.ts --model ./bert-mini        # any HF BERT/DistilBERT folder
 *   npx tsx examples/bert-sentiment.ts --model google/bert_uncased_L-4_H-256_A-4   # a Hub id (online)
 *   npx tsx examples/bert-sentiment.ts                            # offline, no pretrained weights
 *
 * Offline, with no pretrained BERT at hand, it cannot be "fine-tuning a pretrained BERT": it
 * builds a small BERT (2 layers, width 128, as BERT-tiny) with a WordPiece vocabulary taken from
 * the corpus, pretrains it briefly with masked-LM on the unlabeled Amazon review text (books + dvd,
 * ~10k reviews), then fine-tunes on SST-2. It says so in its output. `--compare` also fine-tunes
 * the same architecture from random weights, to show what the masked-LM pretraining bought.
 *
 * Last line: a JSON object with the figures.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { useBackend, type TextClassificationData, type TextModel } from 'transferkit';
import { loadReviewTexts, loadReviewFolder } from 'transferkit/datasets';
import { buildTextModel, buildWordPieceVocab, evaluateText, fineTuneText, loadDelimited, loadTextModel, pretrainMaskedLM, TextTokenizer } from 'transferkit/text';
import { assetsDir } from './_assets.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    epochs: { type: 'string', default: '3' },
    'learning-rate': { type: 'string' },
    'batch-size': { type: 'string', default: '32' },
    'max-length': { type: 'string', default: '64' },
    'mlm-epochs': { type: 'string', default: '1' },
    'mlm-max-length': { type: 'string', default: '128' },
    'train-limit': { type: 'string' },
    compare: { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
  },
});

const log = (msg: string): void => console.log(`[bert-sentiment] ${msg}`);

async function sst2(): Promise<{ train: TextClassificationData; dev: TextClassificationData }> {
  const dir = path.join(assetsDir, 'data/sst2');
  if (!fs.existsSync(dir)) {
    console.error(`Missing ${dir}: put the shared assets at ../shared or set TRANSFERKIT_ASSETS.`);
    process.exit(2);
  }
  const as = (d: Awaited<ReturnType<typeof loadDelimited>>): TextClassificationData => ({ texts: d.texts, labels: Array.from(d.labels) });
  const train = as(await loadDelimited(path.join(dir, 'train.tsv')));
  const limit = values['train-limit'] === undefined ? train.texts.length : Number(values['train-limit']);
  return { train: { texts: train.texts.slice(0, limit), labels: train.labels.slice(0, limit) }, dev: as(await loadDelimited(path.join(dir, 'dev.tsv'))) };
}

async function reviewTexts(): Promise<string[]> {
  const root = path.join(assetsDir, 'data/amazon_reviews');
  const texts: string[] = [];
  for (const domain of ['books', 'dvd']) {
    const unlabeled = path.join(root, domain, 'train', 'unlabeled.review');
    if (fs.existsSync(unlabeled)) texts.push(...(await loadReviewTexts(unlabeled)));
    // The labelled reviews' texts serve as unlabeled text too; their labels are not read.
    for (const split of ['train', 'test']) {
      const dir = path.join(root, domain, split);
      if (fs.existsSync(path.join(dir, 'positive.review'))) texts.push(...(await loadReviewFolder(dir)).texts);
    }
  }
  return texts;
}

function smallBert(vocabSize: number, seed: number): TextModel {
  // BERT-tiny's shape (google/bert_uncased_L-2_H-128_A-2), sized to this corpus' vocabulary.
  return buildTextModel(
    { model_type: 'bert', vocab_size: vocabSize, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512, max_position_embeddings: 512 },
    { task: 'sequence-classification', numLabels: 2, classNames: ['negative', 'positive'], seed },
  );
}

async function fineTune(tm: TextModel, train: TextClassificationData, dev: TextClassificationData, lr: number): Promise<{ devAccuracy: number; seconds: number; samplesPerSecond: number }> {
  const t0 = Date.now();
  const r = await fineTuneText(tm, train, {
    epochs: Number(values.epochs),
    batchSize: Number(values['batch-size']),
    learningRate: lr,
    maxLength: Number(values['max-length']),
    validation: dev,
    seed: Number(values.seed),
    onEpochEnd: (e) => log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, train acc ${((e.accuracy ?? 0) * 100).toFixed(1)} %, dev acc ${((e.valAccuracy ?? 0) * 100).toFixed(1)} %, ${e.samplesPerSecond.toFixed(1)} samples/s`),
  });
  const devAccuracy = (await evaluateText(tm, dev, { maxLength: Number(values['max-length']) })).accuracy as number;
  const seconds = (Date.now() - t0) / 1000;
  return { devAccuracy, seconds, samplesPerSecond: r.history.reduce((s, h) => s + h.samplesPerSecond, 0) / r.history.length };
}

async function main(): Promise<void> {
  await useBackend(values.backend as 'wasm');
  const seed = Number(values.seed);
  const { train, dev } = await sst2();
  log(`SST-2: ${train.texts.length} training sentences, ${dev.texts.length} dev sentences`);

  if (values.model !== undefined) {
    const tm = await loadTextModel(values.model, { task: 'sequence-classification', numLabels: 2, classNames: ['negative', 'positive'], seed });
    log(`loaded ${tm.family} from ${values.model}: ${tm.model.countParams().toLocaleString('en')} parameters; newly initialised: ${tm.loadReport?.newlyInitialized.join(', ') || 'none'}`);
    const lr = Number(values['learning-rate'] ?? 2e-5);
    const r = await fineTune(tm, train, dev, lr);
    log(`dev accuracy ${(r.devAccuracy * 100).toFixed(1)} %`);
    console.log(JSON.stringify({ model: values.model, pretrained: true, devAccuracy: r.devAccuracy, fineTuneSeconds: r.seconds, samplesPerSecond: r.samplesPerSecond }));
    return;
  }

  log('No --model given: NOT a pretrained BERT. Building a small BERT (2 layers x 128, BERT-tiny shape), pretraining it');
  log('briefly with masked-LM on unlabeled Amazon review text, then fine-tuning on SST-2.');
  const reviews = await reviewTexts();
  const vocab = buildWordPieceVocab([...reviews, ...train.texts], { vocabSize: 8000 });
  const tokenizer = TextTokenizer.fromVocab(vocab);
  log(`${reviews.length} review texts; WordPiece vocabulary of ${vocab.length} built from reviews + SST-2 train sentences`);

  const tm = smallBert(vocab.length, seed);
  tm.tokenizer = tokenizer;
  const t0 = Date.now();
  let lastPrint = 0;
  const mlm = await pretrainMaskedLM(tm, reviews, {
    epochs: Number(values['mlm-epochs']),
    maxLength: Number(values['mlm-max-length']),
    learningRate: 1e-3,
    seed,
    onStep: (step, loss) => {
      if (Date.now() - lastPrint > 15_000) {
        lastPrint = Date.now();
        log(`masked-LM step ${step}: loss ${loss.toFixed(3)}`);
      }
    },
  });
  const mlmSeconds = (Date.now() - t0) / 1000;
  log(`masked-LM: ${mlm.steps} steps in ${mlmSeconds.toFixed(0)} s, loss ${mlm.firstLoss.toFixed(3)} -> ${mlm.lastLoss.toFixed(3)}`);
  // A from-scratch encoder tolerates (and needs) a larger rate than a pretrained BERT's 2e-5.
  const lr = Number(values['learning-rate'] ?? 1e-4);
  const r = await fineTune(tm, train, dev, lr);
  log(`dev accuracy after masked-LM pretraining + fine-tuning: ${(r.devAccuracy * 100).toFixed(1)} %`);
  const summary: Record<string, unknown> = {
    model: 'bert-tiny-shape, built here (not pretrained by Google)',
    pretrained: false,
    mlm: { texts: reviews.length, steps: mlm.steps, firstLoss: mlm.firstLoss, lastLoss: mlm.lastLoss, seconds: mlmSeconds },
    devAccuracy: r.devAccuracy,
    fineTuneSeconds: r.seconds,
    samplesPerSecond: r.samplesPerSecond,
  };
  if (values.compare) {
    log('--compare: the same architecture fine-tuned from random weights (no masked-LM)');
    const scratch = smallBert(vocab.length, seed);
    scratch.tokenizer = tokenizer;
    const s = await fineTune(scratch, train, dev, lr);
    log(`dev accuracy without pretraining: ${(s.devAccuracy * 100).toFixed(1)} %`);
    summary.devAccuracyWithoutMlm = s.devAccuracy;
  }
  console.log(JSON.stringify(summary));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
