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

/** Options of {@link loadDelimited} and {@link loadJsonl}. */
export interface TableTextOptions {
  /** Column (name, or 0-based index for files without a header) / JSON field of the text (default 0 / 'text' / 'sentence'). */
  text?: string | number;
  /** Column / field of the label (default 1 / 'label'). */
  label?: string | number;
  /** Column / field of a second text segment (pairs). */
  pair?: string | number;
  /** Field separator (default tab for .tsv, comma otherwise). */
  delimiter?: string;
  /** First line names the columns (default: true when `text`/`label` are names). */
  header?: boolean;
}

/** Labelled texts of a table file; `pairs` when a pair column was named. */
export interface TableTextData extends TextData {
  pairs?: string[];
}

/** Splits delimited text into rows, honouring RFC 4180 quotes ("a, b", "say ""hi"""). */
export function parseDelimited(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/** Integer labels as they are; other labels become indices of their sorted distinct values. */
function encodeLabels(raw: string[], where: string): { labels: Int32Array; classNames: string[] } {
  if (raw.every((l) => /^-?\d+$/.test(l.trim()))) {
    const labels = Int32Array.from(raw, (l) => Number(l));
    const k = Math.max(...labels) + 1;
    return { labels, classNames: Array.from({ length: k }, (_, i) => String(i)) };
  }
  const classNames = [...new Set(raw.map((l) => l.trim()))].sort();
  if (classNames.length > 1000) throw new TransferKitError('E_DATA', `${where}: ${classNames.length} distinct labels; is the label column right?`);
  return { labels: Int32Array.from(raw, (l) => classNames.indexOf(l.trim())), classNames };
}

/**
 * A TSV/CSV file of texts and labels (SST-2's `sentence<TAB>label` lines, or any table with named
 * columns): `loadDelimited('sst2/train.tsv')`, `loadDelimited('data.csv', { text: 'review', label: 'stars' })`.
 */
export async function loadDelimited(file: string, options: TableTextOptions = {}): Promise<TableTextData> {
  const delimiter = options.delimiter ?? (file.endsWith('.tsv') ? '\t' : ',');
  const rows = parseDelimited(await readText(file, 'loadDelimited'), delimiter);
  const named = [options.text, options.label, options.pair].some((c) => typeof c === 'string');
  const header = options.header ?? named;
  const names = header ? (rows.shift() ?? []) : [];
  const col = (c: string | number | undefined, fallback: number, what: string): number => {
    if (c === undefined) return fallback;
    if (typeof c === 'number') return c;
    const i = names.indexOf(c);
    if (i < 0) throw new TransferKitError('E_DATA', `loadDelimited: '${file}' has no column '${c}' (${what}). Columns: ${names.join(', ')}.`);
    return i;
  };
  const ti = col(options.text, 0, 'text');
  const li = col(options.label, 1, 'label');
  const pi = options.pair === undefined ? -1 : col(options.pair, -1, 'pair');
  const bad = rows.findIndex((r) => r.length <= Math.max(ti, li, pi));
  if (bad >= 0) throw new TransferKitError('E_DATA', `loadDelimited: '${file}' row ${bad + (header ? 2 : 1)} has ${rows[bad].length} fields; the text/label columns need ${Math.max(ti, li, pi) + 1}. Check the delimiter (now ${JSON.stringify(delimiter)}).`);
  const { labels, classNames } = encodeLabels(rows.map((r) => r[li]), file);
  return { texts: rows.map((r) => r[ti]), labels, classNames, ...(pi >= 0 ? { pairs: rows.map((r) => r[pi]) } : {}) };
}

/** A JSON-lines file of `{ "text": ..., "label": ... }` objects (field names as options). */
export async function loadJsonl(file: string, options: Omit<TableTextOptions, 'delimiter' | 'header'> = {}): Promise<TableTextData> {
  const lines = (await readText(file, 'loadJsonl')).split(/\r?\n/).filter((l) => l.trim() !== '');
  const objs = lines.map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch (err) {
      throw new TransferKitError('E_DATA', `loadJsonl: '${file}' line ${i + 1} is not JSON (${(err as Error).message}).`, { cause: err });
    }
  });
  const field = (o: Record<string, unknown>, f: string | number | undefined, fallbacks: string[], i: number, what: string): string => {
    const keys = f === undefined ? fallbacks : [String(f)];
    const k = keys.find((key) => o[key] !== undefined);
    if (k === undefined) throw new TransferKitError('E_DATA', `loadJsonl: '${file}' line ${i + 1} has no ${what} field (${keys.join(' or ')}).`);
    return String(o[k]);
  };
  const { labels, classNames } = encodeLabels(objs.map((o, i) => field(o, options.label, ['label'], i, 'label')), file);
  return {
    texts: objs.map((o, i) => field(o, options.text, ['text', 'sentence'], i, 'text')),
    labels,
    classNames,
    ...(options.pair !== undefined ? { pairs: objs.map((o, i) => field(o, options.pair, [], i, 'pair')) } : {}),
  };
}
