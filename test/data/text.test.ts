/**
 * Text data: the Multi-Domain Sentiment `.review` format, one-text-per-line files, and the
 * bag-of-words vectoriser of the reviews adaptation protocol.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { BagOfWords, loadReviewFolder, loadTextLines, ngrams, parseReviews, tokenizeWords } from '../../src/entries/datasets.js';
import { asset } from '../helpers/assets.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const SAMPLE = `<?xml version="1.0"?>
<review>
<rating>
5
</rating>
<title>
<Text>
Great & cheap
</Text>
</title>
<text>
<Text>
I loved it. Don't miss <it>.
</Text>
</text>
</review>
<review>
<rating>
1
</rating>
<title>
Awful
</title>
<text>
Broke in a day
</text>
</review>
`;

describe('parseReviews', () => {
  it('reads rating, title and text with or without the <Text> wrapper, tolerating stray & and <', () => {
    const r = parseReviews(SAMPLE);
    expect(r).toEqual([
      { rating: 5, title: 'Great & cheap', text: "I loved it. Don't miss <it>." },
      { rating: 1, title: 'Awful', text: 'Broke in a day' },
    ]);
  });
  it('names the file when a record is truncated or none exists', () => {
    expect(() => parseReviews('<review><rating>1</rating>', 'x.review')).toThrow(/x\.review.*no closing/);
    expect(() => parseReviews('hello', 'y.review')).toThrow(/y\.review: no <review> records/);
  });
  it('loads a real domain folder: 200 negative + 200 positive dvd test reviews', async () => {
    const dir = asset('data/amazon_reviews/dvd/test');
    if (dir === null) return;
    const d = await loadReviewFolder(dir);
    expect(d.texts).toHaveLength(400);
    expect(d.labels.filter((l) => l === 0)).toHaveLength(200);
    expect(d.classNames).toEqual(['negative', 'positive']);
    expect(d.texts.every((t) => t.length > 0)).toBe(true);
  });
});

describe('loadTextLines', () => {
  it("keeps and renumbers classes (TweetEval without 'neutral') and checks the files are parallel", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-text-'));
    fs.writeFileSync(path.join(dir, 'val_text.txt'), 'bad\nmeh\ngood\n');
    fs.writeFileSync(path.join(dir, 'val_labels.txt'), '0\n1\n2\n');
    fs.writeFileSync(path.join(dir, 'mapping.txt'), '0\tnegative\n1\tneutral\n2\tpositive\n');
    const d = await loadTextLines(path.join(dir, 'val_text.txt'), path.join(dir, 'val_labels.txt'), { keep: [0, 2] });
    expect(d).toEqual({ texts: ['bad', 'good'], labels: Int32Array.from([0, 1]), classNames: ['negative', 'positive'] });
    fs.writeFileSync(path.join(dir, 'val_labels.txt'), '0\n1\n');
    await expect(loadTextLines(path.join(dir, 'val_text.txt'), path.join(dir, 'val_labels.txt'))).rejects.toThrow(/3 lines but .* 2 labels/);
  });
  it('reads the real TweetEval validation split: 312 negative, 819 positive without neutral', async () => {
    const f = asset('data/tweeteval_sentiment/val_text.txt');
    if (f === null) return;
    const d = await loadTextLines(f, f.replace('val_text', 'val_labels'), { keep: [0, 2] });
    expect(d.texts).toHaveLength(1131);
    expect(d.labels.filter((l) => l === 0)).toHaveLength(312);
  });
});

describe('BagOfWords', () => {
  it('tokenises words (keeping inner apostrophes) and builds n-grams', () => {
    expect(tokenizeWords("Don't STOP, it's 2 good!")).toEqual(["don't", 'stop', "it's", '2', 'good']);
    expect(ngrams(['a', 'b', 'c'], 1, 2)).toEqual(['a', 'b', 'c', 'a b', 'b c']);
  });
  it('keeps the most frequent terms (ties alphabetical) and counts, binarises or log-scales them', () => {
    const texts = ['good good movie', 'bad movie', 'good plot'];
    const bow = new BagOfWords({ maxFeatures: 3 }).fit(texts);
    // counts: good 3, movie 2, then ties of 1 ("bad", "bad movie", "good good", ...): "bad" first alphabetically.
    expect(bow.vocabulary).toEqual(['good', 'movie', 'bad']);
    expect(Array.from(bow.transformArray(['good good bad']))).toEqual([2, 0, 1]);
    const bin = new BagOfWords({ maxFeatures: 3, weighting: 'binary' }).fit(texts);
    expect(Array.from(bin.transformArray(['good good bad']))).toEqual([1, 0, 1]);
    const log = new BagOfWords({ maxFeatures: 3, weighting: 'log' }).fit(texts);
    expect(log.transformArray(['good good'])[0]).toBeCloseTo(Math.log(3), 6);
    const t = bow.transform(['movie', 'plot']);
    expect(t.shape).toEqual([2, 3]);
    t.dispose();
  });
  it('rejects bad options and use before fit', () => {
    expect(() => new BagOfWords({ ngramRange: [2, 1] })).toThrow(/ngramRange/);
    expect(() => new BagOfWords().transformArray(['x'])).toThrow(/fit/);
  });
});
