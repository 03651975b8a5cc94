/**
 * Domain adaptation end to end on real text: a sentiment classifier learned on Amazon product
 * reviews (Blitzer et al. 2007), applied to tweets (TweetEval, Rosenthal et al. 2017), whose
 * language differs — short, informal, hashtags. Step 1 trains the classifier on the reviews only;
 * step 2 adapts it with `DomainAdapter`, reading the tweets' texts but never their labels; the
 * labels are read only to report accuracy before and after. The last line is a JSON summary.
 *
 *   npx tsx examples/domain-adaptation-reviews-to-tweets.ts [--method mmd] [--epochs 20] [--seed 0]
 *
 * Features: the 5,000 most frequent unigrams and bigrams of reviews + tweets (binary), a shallow
 * network (one hidden layer of 50 sigmoid units), as Ganin et al.'s sentiment experiments.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tfl from '@tensorflow/tfjs-layers';
import { BagOfWords, DomainAdapter, loadReviewFolder, loadTextLines, useBackend, type AdaptationMethod, type LabeledData } from '../src/index.js';
import { assetsDir } from './_assets.js';

const { values } = parseArgs({ options: { method: { type: 'string', default: 'mmd' }, epochs: { type: 'string', default: '20' }, seed: { type: 'string', default: '0' } } });

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
  const src: LabeledData = { xs: bow.transform(source.texts), labels: source.labels, classNames };
  const tgt: LabeledData = { xs: bow.transform(tweets.texts), labels: tweets.labels, classNames };

  const input = tfl.input({ shape: [bow.vocabulary.length] });
  const hidden = tfl.layers.dense({ units: 50, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }), name: 'hidden' }).apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }), name: 'classifier' }).apply(hidden) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out, name: 'review_sentiment' });

  const common = { epochs: Number(values.epochs), batchSize: 32, optimizer: 'adam' as const, learningRate: 1e-3, weightDecay: 0, seed };
  // 1. A review classifier (the "source-only" model): trained on reviews, never shown a tweet.
  const before = await new DomainAdapter({ ...common, method: 'source-only' }).fit(model, { source: src, target: { xs: tgt.xs }, targetVal: tgt });
  const accBefore = before.history[before.history.length - 1].targetValAcc as number;
  console.log(`review classifier on tweets: ${(100 * accBefore).toFixed(1)} %`);

  // 2. Adapt it to tweets without their labels.
  const method = values.method as AdaptationMethod;
  const t0 = performance.now();
  const after = await new DomainAdapter({ ...common, method, discriminator: { hiddenLayers: 0, batchNorm: false, seed } }).fit(model, {
    source: src,
    target: { xs: tgt.xs },
    targetVal: tgt,
  });
  const accAfter = after.history[after.history.length - 1].targetValAcc as number;
  console.log(`after '${method}' adaptation: ${(100 * accAfter).toFixed(1)} % (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  console.log(JSON.stringify({ example: 'domain-adaptation-reviews-to-tweets', method, seed, sourceTexts: source.texts.length, tweets: tweets.texts.length, tweetAccuracyBefore: Number(accBefore.toFixed(4)), tweetAccuracyAfter: Number(accAfter.toFixed(4)) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
