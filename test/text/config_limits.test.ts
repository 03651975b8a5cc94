/**
 * Hostile and broken text model folders (issue 27, "Hardened input boundary"): absurd config.json
 * sizes (100,000 layers, hidden size 1e9, vocabulary 1e12, 1e9 positions), negative or fractional
 * values, heads that do not divide the hidden size; shard indexes that point outside the model
 * folder (local and through the Hub download); malformed tokenizer.json / tokenizer_config.json /
 * vocab.txt and pathological lengths. Each must end in a coded error naming the file and the field,
 * before anything is built (no tensors allocated) or downloaded.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { buildWordPieceVocab, loadTextModel, loadTokenizer, padBatch, parseTextConfig, TextTokenizer } from '../../src/entries/text.js';
import { isTransferKitError } from '../../src/errors.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { defaultInputLimits, setInputLimits } from '../../src/utils/limits.js';
import { codedError } from '../helpers/errors.js';

beforeAll(async () => {
  await useBackend('cpu');
});

afterEach(() => {
  setInputLimits(defaultInputLimits());
});

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-cfglim-'));
const TINY = { model_type: 'bert', vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 };
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b'];

function folder(files: Record<string, unknown>): string {
  const dir = tmp();
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}


async function codedRejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (!isTransferKitError(err)) throw new Error(`expected a TransferKitError, got ${String(err)}`, { cause: err });
    return err;
  }
  throw new Error('expected a rejection, got a result');
}

describe('config.json sizes are checked before anything is built', () => {
  it('refuses absurd sizes with E_LIMIT naming the file, the field and the limit', () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ num_hidden_layers: 100_000 }, 'num_hidden_layers', 'maxTextLayers=128'],
      [{ hidden_size: 1e9, num_attention_heads: 1 }, 'hidden_size', 'maxHiddenSize=16384'],
      [{ vocab_size: 1e12 }, 'vocab_size', 'maxVocabSize=1000000'],
      [{ max_position_embeddings: 1e9 }, 'max_position_embeddings', 'maxPositions=65536'],
      [{ intermediate_size: 1e9 }, 'intermediate_size', 'maxHiddenSize=65536'],
      [{ type_vocab_size: 1e9 }, 'type_vocab_size', 'maxVocabSize=1000000'],
      [{ vocab_size: 1_000_000, hidden_size: 16_384, num_attention_heads: 16 }, 'the word embeddings ("vocab_size" × "hidden_size"', 'maxTensorElements=268435456'],
      [{ id2label: Object.fromEntries(Array.from({ length: 1_000_001 }, (_, i) => [String(i), `c${i}`])) }, 'id2label', 'maxVocabSize=1000000'],
    ];
    for (const [over, field, limit] of cases) {
      const err = codedError(() => parseTextConfig({ ...TINY, ...over }, '/models/x/config.json'));
      expect(err.code, field).toBe('E_LIMIT');
      expect(err.message, field).toContain(field.startsWith('the ') ? `/models/x/config.json: ${field}` : `/models/x/config.json: "${field}"`);
      expect(err.message, field).toContain(limit);
      expect(err.message, field).toMatch(/setInputLimits/);
    }
    // DistilBERT's own key names.
    expect(codedError(() => parseTextConfig({ model_type: 'distilbert', n_layers: 5000 }, 'd/config.json')).message).toMatch(/d\/config\.json: "n_layers": 5000 is over the limit maxTextLayers=128/);
    expect(codedError(() => parseTextConfig({ model_type: 'roberta', dim: 1, hidden_size: 65_536, num_attention_heads: 1 }, 'r/config.json')).message).toMatch(/"hidden_size": 65536 is over the limit maxHiddenSize/);
  });

  it('refuses negative, fractional, non-numeric values and heads that do not divide the hidden size with E_BAD_OPTION naming field and value', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ num_hidden_layers: -3 }, /"num_hidden_layers" must be a positive integer\. Received: num_hidden_layers=-3/],
      [{ hidden_size: 7.5 }, /"hidden_size" must be a positive integer\. Received: hidden_size=7\.5/],
      [{ vocab_size: '30522' }, /"vocab_size" must be a positive integer\. Received: vocab_size="30522"/],
      [{ max_position_embeddings: null }, /"max_position_embeddings" must be a positive integer/],
      [{ hidden_size: 30, num_attention_heads: 4 }, /hidden_size \(30\) is not a multiple of num_attention_heads \(4\).*Received: hidden_size=30, num_attention_heads=4/],
      [{ hidden_dropout_prob: 1.5 }, /"hidden_dropout_prob" must be a rate in \[0, 1\)\. Received: hidden_dropout_prob=1\.5/],
      [{ layer_norm_eps: 0 }, /"layer_norm_eps" must be a small positive number/],
      [{ pad_token_id: 20 }, /"pad_token_id" must be a token id in \[0, vocab_size=20\)/],
      [{ hidden_act: 42 }, /"hidden_act" must be the name of an activation/],
      [{ id2label: { zero: 'a' } }, /"id2label" must map integer ids to label names/],
      [{ architectures: 'BertForSequenceClassification' }, /"architectures" must be a list of class names/],
    ];
    for (const [over, msg] of cases) {
      const err = codedError(() => parseTextConfig({ ...TINY, ...over }, 'm/config.json'));
      expect(err.code, msg.source).toBe('E_BAD_OPTION');
      expect(err.message, msg.source).toMatch(/m\/config\.json: /);
      expect(err.message, msg.source).toMatch(msg);
    }
    for (const modelType of ['constructor', '__proto__', 'toString', 42]) {
      expect(codedError(() => parseTextConfig({ ...TINY, model_type: modelType }, 'm/config.json')), String(modelType)).toMatchObject({ code: 'E_NOT_IMPLEMENTED', message: expect.stringMatching(/m\/config\.json: model_type .* is not supported/) });
    }
    expect(codedError(() => parseTextConfig([] as never, 'm/config.json'))).toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/m\/config\.json: a model config must be a JSON object/) });
  });

  it('loadTextModel refuses an over-limit config.json without building anything (no tensors allocated), and a config.json that is not an object', async () => {
    const over = folder({ 'config.json': { ...TINY, num_hidden_layers: 129 } });
    const before = tf.memory().numTensors;
    const err = await codedRejection(loadTextModel(over, { weights: null }));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toContain(path.join(over, 'config.json'));
    expect(err.message).toMatch(/"num_hidden_layers": 129 is over the limit maxTextLayers=128/);
    expect(tf.memory().numTensors).toBe(before);
    // The limit is the configured one: raised, the same folder builds.
    setInputLimits({ maxTextLayers: 200 });
    const tm = await loadTextModel(over, { weights: null });
    expect(tm.spec.numLayers).toBe(129);
    tm.model.dispose();
    setInputLimits(defaultInputLimits());
    for (const [content, msg] of [['[1, 2]', /holds \[1,2\], not a JSON object/], ['null', /holds null, not a JSON object/], ['{"model_type": "bert",', /is not valid JSON/]] as const) {
      const dir = folder({ 'config.json': content });
      const e = await codedRejection(loadTextModel(dir, { weights: null }));
      expect(e.code, content).toBe('E_IO_FORMAT');
      expect(e.message, content).toContain(path.join(dir, 'config.json'));
      expect(e.message, content).toMatch(msg);
    }
  });
});

describe('shard indexes of a text model stay inside its folder', () => {
  it('pytorch_model.bin.index.json and model.safetensors.index.json entries outside the folder are E_IO_PATH_ESCAPE', async () => {
    const root = tmp();
    writeSafetensors(path.join(root, 'outside.safetensors'), { 'bert.embeddings.word_embeddings.weight': { dtype: 'float32', shape: [1], data: Float32Array.from([1]) } });
    fs.writeFileSync(path.join(root, 'outside.bin'), 'not read');
    for (const [indexName, shard] of [['pytorch_model.bin.index.json', '../outside.bin'], ['model.safetensors.index.json', '../outside.safetensors'], ['model.safetensors.index.json', path.join(root, 'outside.safetensors')]]) {
      const dir = path.join(root, `m${Math.random().toString(36).slice(2)}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(TINY));
      fs.writeFileSync(path.join(dir, indexName), JSON.stringify({ metadata: {}, weight_map: { 'bert.embeddings.word_embeddings.weight': shard } }));
      const err = await codedRejection(loadTextModel(dir));
      expect(err.code, `${indexName} ${shard}`).toBe('E_IO_PATH_ESCAPE');
      expect(err.message).toContain(path.join(dir, indexName));
    }
  });

  describe('through the Hub download (loopback server)', () => {
    let server: http.Server;
    let endpoint = '';
    const requests: string[] = [];
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        requests.push(req.url ?? '');
        const file = /^\/tk-test\/evil\/resolve\/main\/(.+)$/.exec(req.url ?? '')?.[1];
        const body = file === 'config.json' ? JSON.stringify(TINY) : file === 'model.safetensors.index.json' ? JSON.stringify({ weight_map: { w: '../../../../../escape.safetensors' } }) : undefined;
        if (body === undefined) res.writeHead(404).end('Entry not found');
        else res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => server.close());

    it('refuses the index before requesting or writing any shard outside the cache folder', async () => {
      const root = tmp();
      const cacheDir = path.join(root, 'cache');
      const err = await codedRejection(loadTextModel('tk-test/evil', { endpoint, download: { cacheDir, progress: 'silent' } }));
      expect(err.code).toBe('E_IO_PATH_ESCAPE');
      expect(err.message).toContain('model.safetensors.index.json');
      expect(requests.some((u) => u.includes('escape'))).toBe(false);
      expect(fs.readdirSync(root)).toEqual(['cache']);
    });
  });
});

describe('tokenizer files', () => {
  const wordPiece = (over: Record<string, unknown> = {}, model: Record<string, unknown> = {}): Record<string, unknown> => ({
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    ...over,
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])), ...model },
  });

  it('malformed tokenizer.json files end in E_IO_FORMAT naming the file', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['no model', { version: '1.0' }, /no "model" section/],
      ['no vocab', wordPiece({}, { vocab: undefined }), /the "model" has no "vocab" object/],
      ['negative id', wordPiece({}, { vocab: { '[UNK]': 0, a: -1 } }), /token "a" has id -1; ids must be integers in \[0, maxVocabSize=1000000\)/],
      ['huge id', wordPiece({}, { vocab: { '[UNK]': 0, a: 1e12 } }), /token "a" has id 1000000000000/],
      ['fractional id', wordPiece({}, { vocab: { '[UNK]': 0.5 } }), /token "\[UNK\]" has id 0\.5/],
      ['bad added token', wordPiece({ added_tokens: [{ id: 4e9, content: '[X]' }] }), /an added token is .*integer "id"/],
      ['added_tokens not a list', wordPiece({ added_tokens: {} }), /"added_tokens" must be a list/],
      ['pad id', wordPiece({ padding: { pad_id: -1 } }), /"padding\.pad_id" must be a token id/],
      ['truncation 0', wordPiece({ truncation: { max_length: 0 } }), /"truncation\.max_length" must be a length in \[1, maxPositions=65536\]\. Received: truncation\.max_length=0/],
      ['truncation 1e12', wordPiece({ truncation: { max_length: 1e12 } }), /Received: truncation\.max_length=1000000000000/],
      ['template', wordPiece({ post_processor: { type: 'TemplateProcessing', single: 'A', pair: [], special_tokens: {} } }), /"post_processor\.single" must be a list/],
      ['bert processing', wordPiece({ post_processor: { type: 'BertProcessing', sep: ['[SEP]'], cls: ['[CLS]', 2] } }), /"post_processor\.sep" must be \[token, id\]/],
      ['unknown decoder type', wordPiece({ decoder: { type: 'Rot13' } }), /the tokenizers library cannot read it: Unknown Decoder type: Rot13/],
      ['list vocab for WordPiece', wordPiece({}, { vocab: ['[UNK]', 'a'] }), /the "model" has no "vocab" object of token → id/],
      ['bad Unigram entry', wordPiece({}, { type: 'Unigram', vocab: [['a', -1], ['b']] }), /a Unigram vocabulary entry is \["b"\]/],
    ];
    for (const [name, json, msg] of cases) {
      const dir = folder({ 'tokenizer.json': json as Record<string, unknown> });
      let err: { code: string; message: string } | undefined;
      try {
        err = codedError(() => loadTokenizer(dir));
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`, { cause: e });
      }
      expect(err.code, name).toBe('E_IO_FORMAT');
      expect(err.message, name).toContain(path.join(dir, 'tokenizer.json'));
      expect(err.message, name).toMatch(msg);
    }
  });

  it('optional sections may be absent (HF Rust reads them as none): no "must contain a decoder" error', () => {
    const json = wordPiece();
    for (const k of ['decoder', 'normalizer', 'post_processor', 'added_tokens']) delete json[k];
    const tok = loadTokenizer(folder({ 'tokenizer.json': json })) as TextTokenizer;
    expect(tok.encode('a b').inputIds).toEqual([5, 6]);
  });

  it('a vocabulary over maxVocabSize is E_LIMIT before the library builds it (tokenizer.json and vocab.txt)', () => {
    setInputLimits({ maxVocabSize: 5 });
    const a = folder({ 'tokenizer.json': wordPiece() });
    expect(codedError(() => loadTokenizer(a))).toMatchObject({ code: 'E_LIMIT', message: expect.stringMatching(/tokenizer\.json: the vocabulary has 7 tokens: 7 is over the limit maxVocabSize=5/) });
    const b = folder({ 'vocab.txt': VOCAB.join('\n') });
    expect(codedError(() => loadTokenizer(b))).toMatchObject({ code: 'E_LIMIT', message: expect.stringMatching(/vocab\.txt: the vocabulary has 7 lines: 7 is over the limit maxVocabSize=5/) });
  });

  it('vocab.txt and tokenizer_config.json problems name their file', () => {
    const empty = folder({ 'vocab.txt': '' });
    expect(codedError(() => loadTokenizer(empty))).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringContaining(`${path.join(empty, 'vocab.txt')}: the vocabulary is empty`) });
    const noSep = folder({ 'vocab.txt': ['[PAD]', '[UNK]', '[CLS]', '[MASK]'].join('\n') });
    expect(codedError(() => loadTokenizer(noSep))).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringContaining(`${path.join(noSep, 'vocab.txt')}: the sep token '[SEP]' is not in the vocabulary`) });
    for (const [mml, ok] of [[0, false], [-5, false], [2.5, false], ['512', false], [128, true], [1e30, true]] as const) {
      const dir = folder({ 'vocab.txt': VOCAB.join('\n'), 'tokenizer_config.json': { model_max_length: mml } });
      if (ok) {
        expect((loadTokenizer(dir) as TextTokenizer).modelMaxLength, String(mml)).toBe(mml === 128 ? 128 : 512);
        continue;
      }
      expect(codedError(() => loadTokenizer(dir)), String(mml)).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringContaining(`${path.join(dir, 'tokenizer_config.json')}: "model_max_length" must be a positive integer`) });
    }
    const cfg = folder({ 'vocab.txt': VOCAB.join('\n'), 'tokenizer_config.json': '[]' });
    expect(codedError(() => loadTokenizer(cfg))).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringContaining('tokenizer_config.json holds [], not a JSON object') });
  });

  it('pathological lengths passed by the caller are E_BAD_OPTION (maxLength 0 or 1e12, padToMultipleOf 1e12, vocabSize -1)', () => {
    const tok = TextTokenizer.fromVocab(VOCAB);
    for (const maxLength of [0, -1, 1.5, 1e12, Number.NaN]) {
      expect(codedError(() => tok.encode('a b', null, { maxLength })), String(maxLength)).toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/maxLength must be an integer in \[1, 65536\]/) });
    }
    expect(codedError(() => padBatch([tok.encode('a')], tok.padId, 1e12))).toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/padToMultipleOf must be an integer/) });
    expect(codedError(() => buildWordPieceVocab(['a b'], { vocabSize: -1 })).code).toBe('E_BAD_OPTION');
    expect(codedError(() => buildWordPieceVocab(['a b'], { vocabSize: 1e12 })).code).toBe('E_LIMIT');
    expect(codedError(() => TextTokenizer.fromVocab(VOCAB, { modelMaxLength: 0 })).code).toBe('E_BAD_OPTION');
  });
});
