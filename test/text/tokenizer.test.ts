/**
 * Tokenization (BERT WordPiece through tokenizers.js, built from vocab.txt as HF's BertConverter),
 * truncation and padding as HF, length grouping, the corpus vocabulary builder, and the table
 * loaders (SST-2 TSV, quoted CSV, JSONL).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { buildWordPieceVocab, lengthGroupedBatches, loadDelimited, loadJsonl, padBatch, parseDelimited, TextTokenizer, wordPieceTokenizerJson } from '../../src/entries/text.js';
import { mulberry32 } from '../../src/utils/random.js';
import { asset } from '../helpers/assets.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', '!', ',', 'un', '##aff', '##able', 'cafe', 'the', 'a', 'b', 'c'];

describe('TextTokenizer from vocab.txt (HF BertTokenizerFast pipeline)', () => {
  const tok = TextTokenizer.fromVocab(VOCAB);

  it('lowercases, strips accents, splits punctuation, and splits words greedily into ## pieces', () => {
    // "unaffable" -> un ##aff ##able is the example in HF's BertTokenizer docs.
    expect(tok.tokenize('Hello, WORLD! unaffable Café xyz')).toEqual(['hello', ',', 'world', '!', 'un', '##aff', '##able', 'cafe', '[UNK]']);
    expect(TextTokenizer.fromVocab(VOCAB, { doLowerCase: false }).tokenize('Hello hello')).toEqual(['[UNK]', 'hello']);
  });

  it('wraps singles and pairs as [CLS] A [SEP] B [SEP] with type ids 0/1', () => {
    expect(tok.encode('hello world')).toEqual({ inputIds: [2, 5, 6, 3], tokenTypeIds: [0, 0, 0, 0] });
    expect(tok.encode('hello', 'cafe !')).toEqual({ inputIds: [2, 5, 3, 12, 7, 3], tokenTypeIds: [0, 0, 0, 1, 1, 1] });
  });

  it("truncates as HF: singles keep the head, pairs drop from the longer ('longest_first')", () => {
    expect(tok.encode('a b c a b c', null, { maxLength: 5 }).inputIds).toEqual([2, 14, 15, 16, 3]);
    const pair = tok.encode('a b c a b', 'c c', { maxLength: 7 });
    expect(pair.inputIds).toEqual([2, 14, 15, 3, 16, 16, 3]);
    expect(() => tok.encode('a b c', null, { maxLength: 4, truncation: false })).toThrow(/has 3 tokens; maxLength 4 allows 2/);
  });

  it('pads each batch to its longest row, mask 1 on real tokens', () => {
    const b = padBatch([tok.encode('hello'), tok.encode('hello world !')], tok.padId, 8);
    expect(b.inputIds.shape).toEqual([2, 8]);
    expect(Array.from(b.attentionMask.dataSync())).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(Array.from(b.inputIds.dataSync()).slice(0, 4)).toEqual([2, 5, 3, 0]);
  });

  it('keeps the last id of a token listed twice (HF load_vocab) and names a missing special token', () => {
    const json = wordPieceTokenizerJson([...VOCAB, 'hello']) as { model: { vocab: Record<string, number> } };
    expect(json.model.vocab.hello).toBe(VOCAB.length);
    expect(() => wordPieceTokenizerJson(['[PAD]', '[UNK]', '[CLS]', 'x'])).toThrow(/the sep token '\[SEP\]' is not in the vocabulary/);
  });
});

describe('TextTokenizer from a byte-level BPE tokenizer.json (RoBERTa)', () => {
  it("applies RobertaProcessing: <s> A </s></s> B </s>, type ids 0, pad id from '<pad>'", () => {
    const json = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: ['<s>', '<pad>', '</s>', '<unk>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        vocab: { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3, g: 4, o: 5, d: 6, 'Ġ': 7, b: 8, a: 9, go: 10, goo: 11, good: 12, 'Ġb': 13, 'Ġba': 14, 'Ġbad': 15 },
        merges: ['g o', 'go o', 'goo d', 'Ġ b', 'Ġb a', 'Ġba d'],
      },
    };
    const tok = new TextTokenizer(json, {});
    expect(tok.tokenize('good bad')).toEqual(['good', 'Ġbad']);
    expect(tok.encode('good', 'good bad')).toEqual({ inputIds: [0, 12, 2, 2, 12, 15, 2], tokenTypeIds: [0, 0, 0, 0, 0, 0, 0] });
    expect(tok.padId).toBe(1);
  });
});

describe('lengthGroupedBatches (HF group_by_length)', () => {
  it('uses every index once, in batches of similar length, the longest first', () => {
    const r = mulberry32(3);
    const lengths = Array.from({ length: 1000 }, () => 2 + Math.floor(r() * 100));
    const batches = lengthGroupedBatches(lengths, 16, mulberry32(1), 10);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(lengths[batches[0][0]]).toBe(Math.max(...lengths));
    const spread = (b: number[]): number => Math.max(...b.map((i) => lengths[i])) - Math.min(...b.map((i) => lengths[i]));
    const mean = batches.reduce((s, b) => s + spread(b), 0) / batches.length;
    expect(mean).toBeLessThan(15); // random batches of 16 would spread ~90
  });
});

describe('buildWordPieceVocab', () => {
  it('spells every corpus word without [UNK], frequent words whole', () => {
    const corpus = ['The film was wonderful.', 'A wonderful, wonderful story!', 'Naïve plotting; zany acting'];
    const vocab = buildWordPieceVocab(corpus, { vocabSize: 200 });
    expect(vocab.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    const tok = TextTokenizer.fromVocab(vocab);
    for (const t of corpus) expect(tok.tokenize(t)).not.toContain('[UNK]');
    expect(tok.tokenize('wonderful')).toEqual(['wonderful']);
    expect(() => buildWordPieceVocab(corpus, { vocabSize: 20 })).toThrow(/smaller than the \d+ special and character tokens/);
  });
});

describe('table loaders', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-tables-'));

  it('parses quoted CSV fields (commas, doubled quotes, newlines)', () => {
    expect(parseDelimited('text,label\n"a, b",1\n"say ""hi""\nthere",0\n', ',')).toEqual([['text', 'label'], ['a, b', '1'], ['say "hi"\nthere', '0']]);
  });

  it('reads named CSV columns with string labels, and JSONL', async () => {
    const csv = path.join(dir, 'd.csv');
    fs.writeFileSync(csv, 'id,review,stars\n1,"good, really",pos\n2,bad,neg\n');
    const d = await loadDelimited(csv, { text: 'review', label: 'stars' });
    expect(d).toMatchObject({ texts: ['good, really', 'bad'], classNames: ['neg', 'pos'] });
    expect(Array.from(d.labels)).toEqual([1, 0]);
    await expect(loadDelimited(csv, { text: 'body', label: 'stars' })).rejects.toThrow(/no column 'body'.*Columns: id, review, stars/);
    const jl = path.join(dir, 'd.jsonl');
    fs.writeFileSync(jl, '{"sentence": "fine", "label": 1}\n{"sentence": "awful", "label": 0}\n');
    const j = await loadJsonl(jl);
    expect(j.texts).toEqual(['fine', 'awful']);
    expect(Array.from(j.labels)).toEqual([1, 0]);
  });

  it('reads SST-2 (sentence<TAB>label, no header)', async (ctx) => {
    const file = asset('data/sst2/dev.tsv');
    if (file === null) return ctx.skip();
    const d = await loadDelimited(file);
    expect(d.texts.length).toBe(872);
    expect(d.classNames).toEqual(['0', '1']);
    expect(d.texts[0]).toBe('one long string of cliches');
  });
});
