import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import { makeClipTokenizerFiles, makeT5TokenizerFiles, type TokenizerFiles } from '../src/fixtures/tokenizer-files.js';
import { PromptTokenizer } from '../src/text/tokenize.js';

type ClipJson = { model: { vocab: Record<string, number>; merges: string[] }; added_tokens: { id: number; content: string }[] };
type T5Json = { model: { vocab: [string, number][] } };

const clipL = makeClipTokenizerFiles('clip-l');
const clipG = makeClipTokenizerFiles('clip-g');
const t5 = makeT5TokenizerFiles();
const clipVocab = (clipL.tokenizerJson as ClipJson).model.vocab;
const BOS = clipVocab['<|startoftext|>']!;
const EOS = clipVocab['<|endoftext|>']!;

const load = (f: TokenizerFiles, maxLength?: number) => PromptTokenizer.fromJson(f.tokenizerJson, f.tokenizerConfig, maxLength);
const tokL = load(clipL);
const tokG = load(clipG);
const tokT5 = load(t5, 256);
const nums = (ids: BigInt64Array) => Array.from(ids, Number);

/** Prompt words that the fixture CLIP vocab encodes as one token each. */
const WORDS = ['a', 'photo', 'of', 'cat', 'astronaut', 'riding', 'horse', 'watercolor', 'landscape', 'mountains', 'sunset', 'portrait', 'detailed'];
const words = (n: number) => Array.from({ length: n }, (_, i) => WORDS[i % WORDS.length]!);

describe('fixture tokenizer files', () => {
  it('are deterministic', () => {
    expect(makeClipTokenizerFiles('clip-l')).toEqual(clipL);
    expect(makeClipTokenizerFiles('clip-g')).toEqual(clipG);
    expect(makeT5TokenizerFiles()).toEqual(t5);
    expect(JSON.stringify(makeT5TokenizerFiles())).toBe(JSON.stringify(t5));
  });

  it('CLIP: CLIP vocab layout, EOS is the largest id, both kinds share tokenizer.json', () => {
    expect(clipL.tokenizerJson).toEqual(clipG.tokenizerJson);
    expect(clipVocab['!']).toBe(0);
    expect(clipVocab['!</w>']).toBe(256);
    const ids = Object.values(clipVocab);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Math.max(...ids)).toBe(EOS);
    expect(BOS).toBe(EOS - 1);
    expect(clipL.vocabSize).toBe(EOS + 1);
    expect(clipL.vocabSize).toBeLessThan(1500);
    expect((clipL.tokenizerJson as ClipJson).model.merges.length).toBeGreaterThan(200);
    expect(clipL.tokenizerConfig).toMatchObject({ pad_token: '<|endoftext|>', model_max_length: 77 });
    expect(clipG.tokenizerConfig).toMatchObject({ pad_token: '!', model_max_length: 77 });
  });

  it('T5: <pad>=0, </s>=1, <unk>=2, small vocab, common text has no <unk>', () => {
    const vocab = (t5.tokenizerJson as T5Json).model.vocab.map(([p]) => p);
    expect(vocab.slice(0, 3)).toEqual(['<pad>', '</s>', '<unk>']);
    expect(new Set(vocab).size).toBe(vocab.length);
    expect(t5.vocabSize).toBe(vocab.length);
    expect(t5.vocabSize).toBeLessThan(600);
    const ids = nums(tokT5.encode('Hello World! A Photo of 42 cats, (masterpiece) & "quotes"; x-y_z/w?').ids);
    expect(ids).not.toContain(2);
  });

  it('common prompt words are 1-2 CLIP tokens', () => {
    for (const w of [...WORDS, 'dog', 'painting', 'lighting', 'cinematic', 'forest', 'city', 'beautiful']) {
      expect(tokL.countTokens(w) - 2, w).toBeLessThanOrEqual(2);
    }
  });
});

describe('PromptTokenizer: CLIP', () => {
  it('"a photo of a cat" → BOS … EOS, padded to 77 with the per-tokenizer pad', () => {
    const l = tokL.encode('a photo of a cat');
    const g = tokG.encode('a photo of a cat');
    expect(l.ids.length).toBe(77);
    expect(g.ids.length).toBe(77);
    const content = nums(l.ids).slice(1, 6);
    expect(content.every((id) => id < BOS)).toBe(true);
    expect(nums(l.ids)).toEqual([BOS, ...content, EOS, ...Array(70).fill(EOS)]);
    expect(nums(g.ids)).toEqual([BOS, ...content, EOS, ...Array(70).fill(0)]);
    expect(tokL.padId).toBe(EOS);
    expect(tokG.padId).toBe(0);
    expect(l).toMatchObject({ tokenCount: 7, truncated: false, droppedText: '', keptTokens: 5 });
    expect(tokL.countTokens('a photo of a cat')).toBe(7);
  });

  it('lower-cases and collapses whitespace', () => {
    expect(tokL.encode('  A\tPHOTO   of\n a  Cat ').ids).toEqual(tokL.encode('a photo of a cat').ids);
  });

  it('empty prompt → [BOS, EOS, pad…]', () => {
    expect(nums(tokL.encode('').ids)).toEqual([BOS, EOS, ...Array(75).fill(EOS)]);
    expect(nums(tokG.encode('').ids)).toEqual([BOS, EOS, ...Array(75).fill(0)]);
    expect(tokL.encode('')).toMatchObject({ tokenCount: 2, keptTokens: 0, truncated: false });
  });

  it('200-word prompt keeps BOS + 75 + EOS and reports the dropped tail', () => {
    const w = words(200);
    for (const tok of [tokL, tokG]) {
      const r = tok.encode(w.join(' '));
      const ids = nums(r.ids);
      expect(ids.length).toBe(77);
      expect(ids[0]).toBe(BOS);
      expect(ids[76]).toBe(EOS);
      expect(ids.slice(1, 76)).not.toContain(EOS);
      expect(ids.slice(1, 76)).toEqual(nums(tok.encode(w.slice(0, 75).join(' ')).ids).slice(1, 76));
      expect(r).toMatchObject({ tokenCount: 202, truncated: true, keptTokens: 75 });
      expect(r.droppedText).toBe(w.slice(75).join(' '));
    }
  });

  it('boundary: 75 content tokens fit, 76 do not', () => {
    const fits = tokL.encode(words(75).join(' '));
    expect(fits).toMatchObject({ truncated: false, droppedText: '', keptTokens: 75, tokenCount: 77 });
    expect(nums(fits.ids)[76]).toBe(EOS);
    const over = tokL.encode(words(76).join(' '));
    expect(over).toMatchObject({ truncated: true, keptTokens: 75, tokenCount: 78 });
    expect(over.droppedText).toBe(words(76)[75]);
    expect(nums(over.ids)).toEqual(nums(fits.ids));
  });

  it('both CLIP configs load the shared tokenizer.json to identical content ids', () => {
    const text = 'An astronaut riding a horse, watercolor landscape with mountains at sunset, highly detailed 8k!';
    const a = new Tokenizer(clipL.tokenizerJson, clipL.tokenizerConfig).encode(text, { add_special_tokens: false }).ids;
    const b = new Tokenizer(clipG.tokenizerJson, clipG.tokenizerConfig).encode(text, { add_special_tokens: false }).ids;
    expect(a).toEqual(b);
    expect(nums(tokL.encode(text).ids).slice(1, a.length + 1)).toEqual(a);
    expect(nums(tokG.encode(text).ids).slice(1, a.length + 1)).toEqual(a);
  });
});

describe('PromptTokenizer: T5', () => {
  it('"a photo of a cat" → content, </s>, <pad> zeros; length 256', () => {
    const r = tokT5.encode('a photo of a cat');
    const ids = nums(r.ids);
    expect(tokT5.maxLength).toBe(256);
    expect(ids.length).toBe(256);
    expect(ids.slice(0, 5).every((id) => id > 2)).toBe(true);
    expect(ids[5]).toBe(1);
    expect(ids.slice(6)).toEqual(Array(250).fill(0));
    expect(r).toMatchObject({ tokenCount: 6, truncated: false, keptTokens: 5 });
  });

  it('defaults to model_max_length 512 without an explicit maxLength', () => {
    expect(load(t5).maxLength).toBe(512);
    expect(tokL.maxLength).toBe(77);
  });

  it('empty prompt → [</s>, pad…]', () => {
    expect(nums(tokT5.encode('').ids)).toEqual([1, ...Array(255).fill(0)]);
  });

  it('over-long prompt keeps 255 tokens and </s> last', () => {
    const w = words(300);
    const r = tokT5.encode(w.join(' '));
    const ids = nums(r.ids);
    expect(ids[255]).toBe(1);
    expect(ids.slice(0, 255)).not.toContain(0);
    expect(r).toMatchObject({ truncated: true, keptTokens: 255, tokenCount: 301 });
    expect(r.droppedText).toBe(w.slice(255).join(' '));
  });
});

describe('PromptTokenizer: config errors', () => {
  it('names the missing or unknown pad_token', () => {
    const { pad_token: _omit, ...noPad } = clipL.tokenizerConfig as Record<string, unknown>;
    expect(() => PromptTokenizer.fromJson(clipL.tokenizerJson, noPad)).toThrow(/tokenizer_config\.json: pad_token is missing/);
    expect(() => PromptTokenizer.fromJson(clipL.tokenizerJson, { ...noPad, pad_token: '<nope>' })).toThrow(
      /pad_token "<nope>" is not in tokenizer\.json/,
    );
    expect(() => PromptTokenizer.fromJson(clipL.tokenizerJson, { ...noPad, pad_token: '!', model_max_length: undefined })).toThrow(
      /model_max_length/,
    );
  });
});
