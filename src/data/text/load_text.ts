/**
 * Node-side loaders of the text formats under ../shared/data: the Amazon reviews' `.review`
 * files and one-text-per-line files with a parallel labels file (TweetEval).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { TransferKitError } from '../../errors.js';
import { parseReviews, reviewText } from './reviews.js';

/** Texts with integer labels and the class names. */
export interface TextData {
  texts: string[];
  labels: Int32Array;
  classNames: string[];
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new TransferKitError('E_IO_NOT_FOUND', `${what}: cannot read '${file}' (${(err as Error).message}).`, { cause: err });
  }
}

/**
 * A domain folder of the Multi-Domain Sentiment Dataset: `<dir>/negative.review` (label 0) and
 * `<dir>/positive.review` (label 1), e.g. `amazon_reviews/books/train`. Texts are title + text.
 */
export async function loadReviewFolder(dir: string): Promise<TextData> {
  const texts: string[] = [];
  const labels: number[] = [];
  for (const [label, name] of ['negative', 'positive'].entries()) {
    const file = path.join(dir, `${name}.review`);
    const reviews = parseReviews(await readText(file, 'loadReviewFolder'), file);
    for (const r of reviews) {
      texts.push(reviewText(r));
      labels.push(label);
    }
  }
  return { texts, labels: Int32Array.from(labels), classNames: ['negative', 'positive'] };
}

/** The texts of one `.review` file (e.g. `unlabeled.review`), without labels. */
export async function loadReviewTexts(file: string): Promise<string[]> {
  return parseReviews(await readText(file, 'loadReviewTexts'), file).map(reviewText);
}

/**
 * One text per line with a parallel file of integer labels (TweetEval's `val_text.txt` and
 * `val_labels.txt`). `classNames` default to the mapping file beside them (`<index>\t<name>` per
 * line) when present. `keep` selects and renumbers classes: `{ keep: [0, 2] }` turns
 * TweetEval's negative/neutral/positive into negative (0) / positive (1), dropping neutral.
 */
export async function loadTextLines(textFile: string, labelsFile: string, options: { classNames?: string[]; mappingFile?: string; keep?: number[] } = {}): Promise<TextData> {
  const lines = (await readText(textFile, 'loadTextLines')).split(/\r?\n/);
  const labelLines = (await readText(labelsFile, 'loadTextLines')).split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  while (labelLines.length > 0 && labelLines[labelLines.length - 1].trim() === '') labelLines.pop();
  if (lines.length !== labelLines.length) {
    throw new TransferKitError('E_DATA', `loadTextLines: '${textFile}' has ${lines.length} lines but '${labelsFile}' has ${labelLines.length} labels. They must be parallel, one per line.`);
  }
  let names = options.classNames;
  const mapping = options.mappingFile ?? path.join(path.dirname(textFile), 'mapping.txt');
  if (names === undefined) {
    const m = await fs.readFile(mapping, 'utf8').catch(() => null);
    if (m !== null) {
      names = [];
      for (const row of m.split(/\r?\n/)) {
        const [i, name] = row.split('\t');
        if (name !== undefined) names[Number(i)] = name.trim();
      }
    }
  }
  const raw = labelLines.map((l, i) => {
    const v = Number(l.trim());
    if (!Number.isInteger(v) || v < 0) throw new TransferKitError('E_DATA', `loadTextLines: '${labelsFile}' line ${i + 1} is '${l}', not a class index >= 0.`);
    return v;
  });
  const k = Math.max(...raw) + 1;
  names = names ?? Array.from({ length: k }, (_, i) => String(i));
  if (options.keep === undefined) return { texts: lines, labels: Int32Array.from(raw), classNames: names };
  const keep = options.keep;
  const texts: string[] = [];
  const labels: number[] = [];
  raw.forEach((v, i) => {
    const j = keep.indexOf(v);
    if (j >= 0) {
      texts.push(lines[i]);
      labels.push(j);
    }
  });
  return { texts, labels: Int32Array.from(labels), classNames: keep.map((c) => (names as string[])[c] ?? String(c)) };
}
