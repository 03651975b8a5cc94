/**
 * Domain adaptation end to end on real text: a sentiment classifier learned on Amazon product
 * reviews (Blitzer et al. 2007), applied to tweets (TweetEval, Rosenthal et al. 2017), whose
 * language differs — short, informal, hashtags, and 72 % positive where the reviews are balanced.
 * Step 1 trains the classifier on the reviews only; step 2 adapts it with `DomainAdapter`, reading
 * the tweets' texts but never their labels. The labels are read only to report accuracy before
 * and after. The last line is a JSON summary.
 *
 *   npx tsx examples/domain-adaptation-reviews-to-tweets.ts [--method self-training] [--epochs 10] [--seed 0]
 *
 * Why self-training by default: on this pair it is the method that helped in
 * bench/adaptation/reviews.ts (3 seeds, docs/adaptation.md) — a choice made by looking at tweet
 * accuracy, so it is a result about this pair, not a rule. The example also prints the DEV risk
 * (an unsupervised estimate of the target error) before and after: here it does NOT agree with
 * the accuracy, which docs/adaptation.md discusses.
 *
 * Features: the 5,000 most frequent unigrams and bigrams of reviews + tweets (binary), a shallow
 * network (one hidden layer of 50 sigmoid units), as Ganin et al.'s sentiment experiments.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tfl from '@tensorflow/tfjs-layers';
import { DomainAdapter, trainValSplit, useBackend, type AdaptationMethod, type LabeledData } from 'transferkit';
import { scoreModel } from 'transferkit/adapt';
import { BagOfWords, loadReviewFolder, loadTextLines } from 'transferkit/datasets';
import { assetsDir } from './_assets.js';

const { values } = parseArgs({ options: { method: { type: 'string', default: 'self-training' }, epochs: { type: 'string', default: '10' }, seed: { type: 'string', default: '0' } } });

async function main(): Promise<void> {
  const reviews = ['books', 'dvd'].map((d) => path.join(assetsDir, 'data/amazon_reviews', d, 'train'));
  const tweetsFile = path.join(assetsDir, 'data/tweeteval_sentiment/val_text.txt');
  const missing = [...reviews, tweetsFile].filter((p) => !fs.existsSync(p));
  if (missing.length > 0) {
    console.error(`Missing ${missing.join(', ')}: put the shared assets at ../shared or set TRANSFERKIT_ASSETS.`);
    process.exit(2);
  }
  await useBackend('wasm');
  const seed = Number(values.seed);
  const parts = await Promise.all(reviews.map((d) => loadReviewFolder(d)));
  const source = { texts: parts.flatMap((p) => p.texts), labels: Int32Array.from(parts.flatMap((p) => Array.from(p.labels))) };
  // TweetEval: 0 negative, 1 neutral, 2 positive; keep the polar tweets as negative / positive.
  const tweets = await loadTextLines(tweetsFile, tweetsFile.replace('val_text', 'val_labels'), { keep: [0, 2] });
  console.log(`source: ${source.texts.length} reviews (books + dvd); target: ${tweets.texts.length} tweets (labels used only to report)`);

  const bow = new BagOfWords({ maxFeatures: 5000, ngramRange: [1, 2], weighting: 'binary' }).fit([...source.texts, ...tweets.texts]);
  const classNames = ['negative', 'positive'];
  const all: LabeledData = { xs: bow.transform(source.texts), labels: source.labels, classNames };
  const [src, srcVal] = trainValSplit(all, 0.1, seed); // labelled review hold-out, for DEV
  const tgt: LabeledData = { xs: bow.transform(tweets.texts), labels: tweets.labels, classNames };
  const data = { source: src, target: { xs: tgt.xs }, sourceVal: srcVal, targetVal: tgt };

  const input = tfl.input({ shape: [bow.vocabulary.length] });
  const hidden = tfl.layers.dense({ units: 50, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }), name: 'hidden' }).apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }), name: 'classifier' }).apply(hidden) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out, name: 'review_sentiment' });
  const featureIndex = 1; // 'hidden': the features the adaptation losses align

  const common = { epochs: Number(values.epochs), batchSize: 32, optimizer: 'adam' as const, learningRate: 1e-3, weightDecay: 0, seed };
  // 1. A review classifier (the "source-only" model): trained on reviews, never shown a tweet.
  const before = await new DomainAdapter({ ...common, method: 'source-only' }).fit(model, data);
  const accBefore = before.history[before.history.length - 1].targetValAcc as number;
  const devBefore = await scoreModel('dev', model, featureIndex, data, { seed });
  console.log(`review classifier on tweets: ${(100 * accBefore).toFixed(1)} % (DEV risk ${devBefore.toFixed(3)})`);

  // 2. Adapt it to the tweets, without their labels.
  const method = values.method as AdaptationMethod;
  const t0 = performance.now();
  const res = await new DomainAdapter({ ...common, method, discriminator: { hiddenLayers: 0, batchNorm: false, seed }, selfTraining: { threshold: 0.9 } }).fit(model, data);
  const last = res.history[res.history.length - 1];
  const accAfter = last.targetValAcc as number;
  const devAfter = await scoreModel('dev', model, featureIndex, data, { seed });
  console.log(`after '${method}' (${((performance.now() - t0) / 1000).toFixed(0)} s): ${(100 * accAfter).toFixed(1)} % on tweets (DEV risk ${devAfter.toFixed(3)})` + (last.pseudoLabelRate !== undefined ? `; ${(100 * last.pseudoLabelRate).toFixed(0)} % of tweets pseudo-labelled in the last epoch` : ''));
  console.log(JSON.stringify({
    example: 'domain-adaptation-reviews-to-tweets', method, seed, epochs: Number(values.epochs), sourceTexts: source.texts.length, tweets: tweets.texts.length,
    tweetAccuracyBefore: Number(accBefore.toFixed(4)), tweetAccuracyAfter: Number(accAfter.toFixed(4)), devRiskBefore: Number(devBefore.toFixed(4)), devRiskAfter: Number(devAfter.toFixed(4)),
  }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
