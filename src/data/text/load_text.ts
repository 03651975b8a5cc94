/**
 * Node-side loaders of the text formats under ../shared/data: the Amazon reviews' `.review`
 * files and one-text-per-line files with a parallel labels file (TweetEval).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { isTransferKitError, TransferKitError } from '../../errors.js';
import { checkJsonDepth, shortJson } from '../../utils/json.js';
import { parseReviews, reviewText } from './reviews.js';

/** Texts with integer labels and the class names. */
export interface TextData {
  texts: string[];
  labels: Int32Array;
  classNames: string[];
}

/** Reads a UTF-8 text file without its byte-order mark (Excel and Notepad write one before the header). */
async function readText(file: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'there is no file at that path' : code === 'EISDIR' ? 'it is a folder, not a file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message;
    throw new TransferKitError('E_IO_NOT_FOUND', `${what}: cannot read '${file}': ${why}. Received: file=${file}${code !== undefined ? ` (${code})` : ''}. Check the path and that the file is readable.`, { cause: err });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Refuses a table without rows (an empty file, a header only, blank lines only). */
function noRows(what: string, file: string, detail: string): TransferKitError {
  return new TransferKitError('E_DATA', `${what}: '${file}' has no rows${detail}. A table of texts needs at least one row with a text and a label. Received: rows=0. Check that the file is complete (not an empty or interrupted download) and is the one you meant.`);
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
  if (lines.length === 0 && labelLines.length === 0) throw noRows('loadTextLines', textFile, ` (and '${labelsFile}' has no labels)`);
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
    const v = l.trim() === '' ? NaN : Number(l.trim());
    if (!Number.isInteger(v) || v < 0) throw new TransferKitError('E_DATA', `loadTextLines: '${labelsFile}' line ${i + 1} is '${l}', not a class index >= 0. Every line of a labels file holds one integer class index. Received: line ${i + 1}=${JSON.stringify(l)}. Fix or remove that line and its text.`);
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

/** Classes a table may have: more distinct labels mean the label column is likely wrong. */
const MAX_TABLE_CLASSES = 1000;
/** The largest integer label taken as a class index (one more would mean 100,000 classes). */
const MAX_CLASS_INDEX = 99_999;

/**
 * Class indices from a table's label cells: integer labels >= 0 as they are; other labels
 * (names, booleans, or integers with negatives such as -1/1) become indices of their sorted
 * distinct values. `rowName(i)` names row i in errors ("row 3", "line 3").
 */
function encodeLabels(raw: string[], where: string, rowName: (i: number) => string): { labels: Int32Array; classNames: string[] } {
  const cells = raw.map((l) => l.trim());
  const empty = cells.findIndex((l) => l === '');
  if (empty >= 0) {
    throw new TransferKitError('E_DATA', `${where} ${rowName(empty)} has an empty label. Every row needs a label (a class name or an integer class index). Received: label=${JSON.stringify(raw[empty])}. Fill in the label or remove the row.`);
  }
  const integers = cells.every((l) => /^-?\d+$/.test(l));
  if (integers && cells.every((l) => !l.startsWith('-'))) {
    const values = cells.map(Number);
    const big = values.findIndex((v) => v > MAX_CLASS_INDEX);
    if (big >= 0) {
      throw new TransferKitError('E_DATA', `${where} ${rowName(big)} has the class index ${cells[big]}. Integer labels are class indices and must be in [0, ${MAX_CLASS_INDEX}]. Received: label=${cells[big]}. Is the label column right? Name the classes instead, or renumber them from 0.`);
    }
    const labels = Int32Array.from(values);
    const k = values.reduce((a, b) => Math.max(a, b), -1) + 1;
    return { labels, classNames: Array.from({ length: k }, (_, i) => String(i)) };
  }
  const distinct = [...new Set(cells)];
  const classNames = integers ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
  if (classNames.length > MAX_TABLE_CLASSES) {
    throw new TransferKitError('E_DATA', `${where}: ${classNames.length} distinct labels; a table may have at most ${MAX_TABLE_CLASSES} classes. Received: classes=${classNames.length} (${classNames.slice(0, 3).map((c) => JSON.stringify(c)).join(', ')}, ...). Is the label column right?`);
  }
  const index = new Map(classNames.map((c, i) => [c, i]));
  return { labels: Int32Array.from(cells, (l) => index.get(l) as number), classNames };
}

/**
 * A TSV/CSV file of texts and labels (SST-2's `sentence<TAB>label` lines, or any table with named
 * columns): `loadDelimited('sst2/train.tsv')`, `loadDelimited('data.csv', { text: 'review', label: 'stars' })`.
 * A UTF-8 byte-order mark is ignored. Without `header` and column names, a first row whose label
 * cell reads `label` (GLUE's `sentence<TAB>label`) is taken as the header. A file without data rows
 * is refused (`E_DATA`).
 */
export async function loadDelimited(file: string, options: TableTextOptions = {}): Promise<TableTextData> {
  const delimiter = options.delimiter ?? (file.endsWith('.tsv') ? '\t' : ',');
  const rows = parseDelimited(await readText(file, 'loadDelimited'), delimiter);
  const named = [options.text, options.label, options.pair].some((c) => typeof c === 'string');
  const labelAt = typeof options.label === 'number' ? options.label : 1;
  const header = options.header ?? (named || rows[0]?.[labelAt]?.trim().toLowerCase() === 'label');
  const names = header ? (rows.shift() ?? []).map((n) => n.trim()) : [];
  if (rows.length === 0) throw noRows('loadDelimited', file, header && names.length > 0 ? ` below its header (${names.join(', ')})` : ' (the file is empty or blank)');
  const col = (c: string | number | undefined, fallback: number, what: string): number => {
    if (c === undefined) return fallback;
    if (typeof c === 'number') return c;
    const i = names.indexOf(c);
    if (i < 0) throw new TransferKitError('E_DATA', `loadDelimited: '${file}' has no column '${c}' (${what}). Columns: ${names.join(', ')}. Received: ${what}=${JSON.stringify(c)}. Name one of the columns, or pass its 0-based index.`);
    return i;
  };
  const ti = col(options.text, 0, 'text');
  const li = col(options.label, 1, 'label');
  const pi = options.pair === undefined ? -1 : col(options.pair, -1, 'pair');
  const rowName = (i: number): string => `row ${i + (header ? 2 : 1)}`;
  const bad = rows.findIndex((r) => r.length <= Math.max(ti, li, pi));
  if (bad >= 0) throw new TransferKitError('E_DATA', `loadDelimited: '${file}' ${rowName(bad)} has ${rows[bad].length} fields; the text/label columns need ${Math.max(ti, li, pi) + 1}. Check the delimiter (now ${JSON.stringify(delimiter)}).`);
  const { labels, classNames } = encodeLabels(rows.map((r) => r[li]), `loadDelimited: '${file}'`, rowName);
  return { texts: rows.map((r) => r[ti]), labels, classNames, ...(pi >= 0 ? { pairs: rows.map((r) => r[pi]) } : {}) };
}

/** What a JSON value is, in a word, for messages. */
function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v === 'number' ? (Number.isInteger(v) ? 'an integer' : 'a fractional number') : `a ${typeof v}`;
}

/**
 * A JSON-lines file of `{ "text": ..., "label": ... }` objects (field names as options). Labels
 * must be strings, integers or booleans; texts strings (numbers are taken as their digits). Blank
 * lines are skipped; a file without rows, a line that is not a JSON object, and a missing, null,
 * object or array label are refused with `E_DATA` naming the file and line.
 */
export async function loadJsonl(file: string, options: Omit<TableTextOptions, 'delimiter' | 'header'> = {}): Promise<TableTextData> {
  const lines = (await readText(file, 'loadJsonl')).split(/\r?\n/).map((text, i) => ({ text, line: i + 1 })).filter((l) => l.text.trim() !== '');
  if (lines.length === 0) throw noRows('loadJsonl', file, ' (no JSON lines)');
  const objs = lines.map(({ text, line }) => {
    let o: unknown;
    try {
      o = JSON.parse(text);
      checkJsonDepth(o, `loadJsonl: '${file}' line ${line}`);
    } catch (err) {
      if (isTransferKitError(err)) throw err;
      throw new TransferKitError('E_DATA', `loadJsonl: '${file}' line ${line} is not JSON (${(err as Error).message}). Every line must be one JSON object such as {"text": "...", "label": "..."}. Fix or remove that line.`, { cause: err });
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      throw new TransferKitError('E_DATA', `loadJsonl: '${file}' line ${line} is ${kindOf(o)}, not a JSON object. Every line must be one object such as {"text": "...", "label": "..."}. Received: line ${line}=${text.slice(0, 80)}. Fix or remove that line.`);
    }
    return o as Record<string, unknown>;
  });
  const lineOf = (i: number): number => lines[i].line;
  const find = (o: Record<string, unknown>, f: string | number | undefined, fallbacks: string[], i: number, what: string): { key: string; value: unknown } => {
    const keys = f === undefined ? fallbacks : [String(f)];
    const key = keys.find((k) => o[k] !== undefined);
    if (key === undefined) throw new TransferKitError('E_DATA', `loadJsonl: '${file}' line ${lineOf(i)} has no ${what} field (${keys.join(' or ')}). Every line needs a ${what}. Received: fields ${Object.keys(o).join(', ') || '(none)'}. Add the field, or name the right one in the options.`);
    return { key, value: o[key] };
  };
  const text = (o: Record<string, unknown>, f: string | number | undefined, fallbacks: string[], i: number, what: string): string => {
    const { key, value } = find(o, f, fallbacks, i, what);
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    throw new TransferKitError('E_DATA', `loadJsonl: '${file}' line ${lineOf(i)}: the ${what} "${key}" is ${kindOf(value)}. A ${what} must be a string. Received: ${key}=${shortJson(value)}. Fix that line.`);
  };
  const label = (o: Record<string, unknown>, i: number): string => {
    const { key, value } = find(o, options.label, ['label'], i, 'label');
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isInteger(value))) return String(value);
    throw new TransferKitError('E_DATA', `loadJsonl: '${file}' line ${lineOf(i)}: the label "${key}" is ${kindOf(value)}. Labels must be strings, integers or booleans. Received: ${key}=${shortJson(value)}. Give that line a class name or index${value === null ? ', or remove it' : ''}.`);
  };
  const { labels, classNames } = encodeLabels(objs.map((o, i) => label(o, i)), `loadJsonl: '${file}'`, (i) => `line ${lineOf(i)}`);
  return {
    texts: objs.map((o, i) => text(o, options.text, ['text', 'sentence'], i, 'text')),
    labels,
    classNames,
    ...(options.pair !== undefined ? { pairs: objs.map((o, i) => text(o, options.pair, [], i, 'pair')) } : {}),
  };
}
