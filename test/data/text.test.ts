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
import { loadDelimited, loadJsonl } from '../../src/entries/text.js';
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

describe('table files at the input boundary', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-tables-'));
  const write = (name: string, text: string | Buffer): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const BOM = '\uFEFF';

  it('ignores a UTF-8 byte-order mark before a CSV header, a TSV and a JSONL file', async () => {
    // Excel's "CSV UTF-8" starts with EF BB BF: the first column was '\uFEFFtext', not 'text'.
    const csv = write('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('text,label\nhello,a\nbye,b\n')]));
    const d = await loadDelimited(csv, { text: 'text', label: 'label' });
    expect(d).toMatchObject({ texts: ['hello', 'bye'], classNames: ['a', 'b'] });
    const tsv = write('bom.tsv', `${BOM}great\t1\nawful\t0\n`);
    expect((await loadDelimited(tsv)).texts).toEqual(['great', 'awful']);
    const jl = write('bom.jsonl', `${BOM}{"text": "x", "label": "a"}\n{"text": "y", "label": "b"}\n`);
    expect((await loadJsonl(jl)).texts).toEqual(['x', 'y']);
    const lines = write('bom_text.txt', `${BOM}first\nsecond\n`);
    const labels = write('bom_labels.txt', `${BOM}0\n1\n`);
    expect((await loadTextLines(lines, labels, { classNames: ['n', 'p'] })).texts).toEqual(['first', 'second']);
  });

  it("takes a first row whose label cell reads 'label' as the header (GLUE's sentence<TAB>label)", async () => {
    const tsv = write('glue.tsv', 'sentence\tlabel\ngood film\t1\nbad film\t0\n');
    const d = await loadDelimited(tsv);
    expect(d.texts).toEqual(['good film', 'bad film']);
    expect(d.classNames).toEqual(['0', '1']);
  });

  it('refuses a table without rows (header only, empty, blank lines) with E_DATA naming the file', async () => {
    const header = write('header.csv', 'text,label\n');
    await expect(loadDelimited(header, { text: 'text', label: 'label' })).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringContaining(`'${header}' has no rows below its header (text, label)`) });
    const empty = write('empty.csv', '');
    await expect(loadDelimited(empty)).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/empty\.csv' has no rows.*Received: rows=0/) });
    const blank = write('blank.jsonl', '\n  \n');
    await expect(loadJsonl(blank)).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/blank\.jsonl' has no rows/) });
    await expect(loadTextLines(write('e_text.txt', ''), write('e_labels.txt', ''))).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/e_text\.txt' has no rows/) });
  });

  it('refuses JSONL labels that are objects, arrays, null, fractions or missing, naming file and line', async () => {
    const cases: [string, RegExp][] = [
      ['{"text": "x", "label": {"a": 1}}', /line 2: the label "label" is an object\. Labels must be strings, integers or booleans\. Received: label=\{"a":1\}/],
      ['{"text": "x", "label": [1]}', /line 2: the label "label" is an array/],
      ['{"text": "x", "label": null}', /line 2: the label "label" is null.*or remove it/],
      ['{"text": "x", "label": 0.5}', /line 2: the label "label" is a fractional number/],
      ['{"text": "x"}', /line 2 has no label field \(label\)/],
      ['{"text": null, "label": "a"}', /line 2: the text "text" is null\. A text must be a string/],
      ['[1, 2]', /line 2 is an array, not a JSON object/],
      ['null', /line 2 is null, not a JSON object/],
    ];
    for (const [i, [line, message]] of cases.entries()) {
      const f = write(`bad${i}.jsonl`, `{"text": "ok", "label": "a"}\n${line}\n`);
      await expect(loadJsonl(f), line).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(message) });
      await expect(loadJsonl(f)).rejects.toThrow(f);
    }
    // Line numbers count blank lines too; booleans and integers are class names.
    const f = write('gaps.jsonl', '{"text": "a", "label": true}\n\n{"text": "b", "label": false}\n\n{"text": "c", "label": {}}\n');
    await expect(loadJsonl(f)).rejects.toThrow(/line 5: the label/);
    const ok = write('bools.jsonl', '{"text": "a", "label": true}\n{"text": "b", "label": false}\n');
    expect(await loadJsonl(ok)).toMatchObject({ classNames: ['false', 'true'], labels: Int32Array.from([1, 0]) });
  });

  it('refuses empty label cells and blank label lines instead of inventing a class', async () => {
    const csv = write('nolabel.csv', 'text,label\nfine,a\nmissing,\n');
    await expect(loadDelimited(csv, { text: 'text', label: 'label' })).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/row 3 has an empty label/) });
    // Number('') is 0: a blank line in the middle of a labels file became class 0.
    await expect(loadTextLines(write('g_text.txt', 'a\nb\nc\n'), write('g_labels.txt', '0\n\n1\n'))).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/line 2 is '', not a class index/) });
    // Negative integers (-1/1 sentiment) are class names, never index -1.
    const pm = write('pm.csv', 'a,-1\nb,1\nc,-1\n');
    expect(await loadDelimited(pm)).toMatchObject({ classNames: ['-1', '1'], labels: Int32Array.from([0, 1, 0]) });
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
