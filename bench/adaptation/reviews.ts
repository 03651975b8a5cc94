/**
 * Sentiment adaptation on real text, with the bag-of-words protocol of Ganin et al. (JMLR 2016,
 * section 5.1): the 5,000 most frequent unigrams and bigrams, a shallow network (one hidden
 * layer of 50 sigmoid units, softmax output), source-only against each adaptation method, seeded,
 * 3 seeds by default. Prints one JSON line per (method, seed) and a summary with mean and spread.
 *
 *   npx tsx bench/adaptation/reviews.ts                       # Amazon books → dvd (paper: DANN 78.4 %)
 *   npx tsx bench/adaptation/reviews.ts --target tweets       # Amazon reviews → TweetEval tweets
 *   npx tsx bench/adaptation/reviews.ts --source DIR[,DIR] --target DIR|FILE.txt --target-test DIR|FILE.txt
 *       [--methods source-only,dann,coral,mmd,self-training] [--seeds 0,1,2] [--epochs 20] [--backend wasm]
 *
 * A review folder holds `negative.review` and `positive.review` (Multi-Domain Sentiment Dataset);
 * a `.txt` file holds one text per line with `*labels*` beside it (TweetEval; neutral dropped).
 * Target training texts are used without their labels; target-test labels are read only to report.
 * Features are binary (term present or not), fitted on source + unlabelled target texts.
 * Optimiser: Adam, lr 1e-3 (ADAPT's and Keras' default) annealed as lr / (1 + 10 p)^0.75, no
 * weight decay, 32 + 32 examples per step, 20 epochs; tradeoff 1 for every method. Adam was chosen
 * over the DomainAdapter default (SGD with momentum, lr 0.01, weight decay 1e-3) by source
 * validation accuracy of the source-only model (seeds 0 and 1: 76.9 / 80.0 % against 75.6 / 74.4 %);
 * no target label was used to choose anything. Every run also logs the
 * epoch an unsupervised validator (SND, DEV) would pick and its accuracy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DomainAdapter, trainValSplit, useBackend, type AdaptationMethod, type BackendName, type LabeledData } from 'transferkit';
import { BagOfWords, loadReviewFolder, loadTextLines, type TextData } from 'transferkit/datasets';
import { assets, meanStd } from './_common.js';

const A = path.join(assets, 'data');
const { values } = parseArgs({
  options: {
    source: { type: 'string' },
    target: { type: 'string', default: 'dvd' },
    'target-test': { type: 'string' },
    methods: { type: 'string', default: 'source-only,dann,coral,mmd,self-training' },
    seeds: { type: 'string', default: '0,1,2' },
    epochs: { type: 'string', default: '20' },
    backend: { type: 'string', default: 'wasm' },
    lr: { type: 'string', default: '0.001' },
    optimizer: { type: 'string', default: 'adam' },
    wd: { type: 'string', default: '0' },
    tradeoff: { type: 'string', default: '1' },
    validators: { type: 'string', default: 'snd,dev' },
  },
});

// Shorthands for the pairs in ../shared.
const tweetsFile = path.join(A, 'tweeteval_sentiment/val_text.txt');
const presets: Record<string, { source: string; target: string; test: string }> = {
  dvd: { source: path.join(A, 'amazon_reviews/books/train'), target: path.join(A, 'amazon_reviews/dvd/train'), test: path.join(A, 'amazon_reviews/dvd/test') },
  tweets: { source: `${path.join(A, 'amazon_reviews/books/train')},${path.join(A, 'amazon_reviews/dvd/train')}`, target: tweetsFile, test: tweetsFile },
};

async function loadTexts(spec: string): Promise<TextData> {
  const parts: TextData[] = [];
  for (const p of spec.split(',')) {
    if (p.endsWith('.txt')) parts.push(await loadTextLines(p, path.join(path.dirname(p), path.basename(p).replace('text', 'labels')), { keep: [0, 2] }));
    else parts.push(await loadReviewFolder(p));
  }
  return { texts: parts.flatMap((d) => d.texts), labels: Int32Array.from(parts.flatMap((d) => Array.from(d.labels))), classNames: ['negative', 'positive'] };
}

/** Ganin et al.'s shallow sentiment network: 5000 → 50 (sigmoid) → 2 (softmax). */
function shallowNet(inputs: number, seed: number): tfl.LayersModel {
  const input = tfl.input({ shape: [inputs], name: 'bow' });
  const h = tfl.layers.dense({ units: 50, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 10 + 1 }), name: 'hidden' }).apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 10 + 2 }), name: 'classifier' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'shallow_sentiment' });
}

async function main(): Promise<void> {
  const preset = presets[values.target as string];
  const sourceSpec = values.source ?? preset?.source ?? presets.dvd.source;
  const targetSpec = preset?.target ?? (values.target as string);
  const testSpec = values['target-test'] ?? preset?.test;
  if (testSpec === undefined) throw new Error('--target-test is required with a custom --target');
  const missing = [...sourceSpec.split(','), ...targetSpec.split(','), ...testSpec.split(',')].filter((p) => !fs.existsSync(p));
  if (missing.length > 0) {
    console.log(JSON.stringify({ skipped: `not found: ${missing.join(', ')}; set TRANSFERKIT_ASSETS` }));
    return;
  }
  await useBackend(values.backend as BackendName);
  const source = await loadTexts(sourceSpec);
  const target = await loadTexts(targetSpec);
  const test = targetSpec === testSpec ? target : await loadTexts(testSpec);
  const bow = new BagOfWords({ maxFeatures: 5000, ngramRange: [1, 2], weighting: 'binary' }).fit([...source.texts, ...target.texts]);
  const d = bow.vocabulary.length;
  const all: LabeledData = { xs: bow.transform(source.texts), labels: source.labels, classNames: source.classNames };
  const targetXs = bow.transform(target.texts);
  const testData: LabeledData = { xs: targetSpec === testSpec ? targetXs : bow.transform(test.texts), labels: test.labels, classNames: test.classNames };
  const pair = `${sourceSpec.split(',').map((p) => path.relative(A, p)).join('+')} -> ${path.relative(A, targetSpec)}`;
  const methods = (values.methods as string).split(',') as AdaptationMethod[];
  const seeds = (values.seeds as string).split(',').map(Number);
  const validators = (values.validators as string).split(',').filter((v) => v !== '') as ('snd' | 'dev')[];
  const results: Record<string, number[]> = {};
  const selected: Record<string, number[]> = {};
  for (const seed of seeds) {
    // 10 % of the source is held out as labelled source validation (for DEV and reporting).
    const [train, val] = trainValSplit(all, 0.1, seed);
    for (const method of methods) {
      const model = shallowNet(d, seed + 1);
      const t0 = performance.now();
      const res = await new DomainAdapter({
        method,
        epochs: Number(values.epochs),
        batchSize: 32,
        seed,
        // Ganin et al.'s sentiment DANN uses a logistic-regression domain classifier on the hidden layer.
        discriminator: { hiddenSize: 50, hiddenLayers: 0, batchNorm: false, seed },
        learningRate: Number(values.lr),
        optimizer: values.optimizer as 'adam' | 'momentum' | 'sgd',
        weightDecay: Number(values.wd),
        tradeoff: Number(values.tradeoff),
        validator: validators,
        restoreBestWeights: false,
      }).fit(model, { source: train, target: { xs: targetXs }, sourceVal: val, targetVal: testData });
      const h = res.history;
      const last = h[h.length - 1];
      const pickBy = (v: 'snd' | 'dev') => {
        if (!validators.includes(v)) return NaN;
        const scores = h.map((e) => e.scores[v] as number);
        const i = v === 'snd' ? scores.indexOf(Math.max(...scores)) : scores.indexOf(Math.min(...scores));
        return h[i].targetValAcc as number;
      };
      const acc = last.targetValAcc as number;
      (results[method] ??= []).push(acc);
      (selected[`${method}@dev`] ??= []).push(pickBy('dev'));
      (selected[`${method}@snd`] ??= []).push(pickBy('snd'));
      console.log(JSON.stringify({
        bench: 'reviews', pair, method, seed, targetAccuracy: Number(acc.toFixed(4)), sourceValAccuracy: Number((last.valAccuracy as number).toFixed(4)),
        selectedByDev: Number(pickBy('dev').toFixed(4)), selectedBySnd: Number(pickBy('snd').toFixed(4)),
        epochs: h.length, steps: h.reduce((a, e) => a + e.steps, 0), seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
        ...(last.domainAcc !== undefined ? { domainAcc: Number(last.domainAcc.toFixed(3)) } : {}),
        ...(last.pseudoLabelRate !== undefined ? { pseudoLabelRate: Number(last.pseudoLabelRate.toFixed(3)) } : {}),
      }));
      model.dispose();
    }
    tf.dispose([train.xs, val.xs]);
  }
  const summary = Object.fromEntries(Object.entries(results).map(([m, a]) => [m, meanStd(a)]));
  const selection = Object.fromEntries(Object.entries(selected).map(([m, a]) => [m, meanStd(a).mean]));
  console.log(JSON.stringify({ bench: 'reviews', pair, summary, selection, seeds, features: d, trainTexts: source.texts.length, targetTexts: target.texts.length, testTexts: test.texts.length, ...(values.target === 'dvd' ? { paper: { dann: 78.4 } } : {}) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
