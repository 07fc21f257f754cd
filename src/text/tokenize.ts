/**
 * Prompt tokenization identical to the HF Python tokenizers used by diffusers' SD3 pipeline
 * (SD35_CONTRACT.md §1.2): encode without specials, keep the first (maxLength − #specials) content
 * tokens, wrap them in the post-processor's specials (so CLIP keeps its EOS and T5 its `</s>`), then pad
 * with the tokenizer_config pad token. transformers.js instead slices the wrapped ids, dropping the EOS.
 *
 * Works in Node and in a browser worker: it receives the parsed tokenizer.json and tokenizer_config.json.
 */
import { Tokenizer } from '@huggingface/tokenizers';

export interface TokenizedText {
  /** Exactly maxLength int64 ids (input_ids for ONNX). */
  ids: BigInt64Array;
  /** Tokens the full text needs including special tokens, before truncation. */
  tokenCount: number;
  truncated: boolean;
  /** The text that did not fit ('' when nothing was cut), decoded from the dropped ids. */
  droppedText: string;
  /** Content tokens kept (excluding specials and padding). */
  keptTokens: number;
}

type Json = Record<string, unknown>;

/** A token in tokenizer_config.json: a string, or an AddedToken object ({ content, … }). */
function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).content === 'string') {
    return (value as Json).content as string;
  }
  return null;
}

export class PromptTokenizer {
  readonly maxLength: number;
  /** Ids the post-processor puts before / after the content (CLIP: [BOS] / [EOS]; T5: [] / [</s>]). */
  readonly prefixIds: readonly number[];
  readonly suffixIds: readonly number[];
  readonly padId: number;

  private constructor(
    private readonly tokenizer: Tokenizer,
    maxLength: number,
    prefixIds: number[],
    suffixIds: number[],
    padId: number,
  ) {
    this.maxLength = maxLength;
    this.prefixIds = prefixIds;
    this.suffixIds = suffixIds;
    this.padId = padId;
  }

  /** maxLength defaults to tokenizer_config.json's model_max_length (77 for CLIP); T5 callers pass 256. */
  static fromJson(tokenizerJson: object, tokenizerConfig: object, maxLength?: number): PromptTokenizer {
    const config = tokenizerConfig as Json;
    const length = maxLength ?? config.model_max_length;
    if (typeof length !== 'number' || !Number.isInteger(length) || length <= 0 || length > 1_000_000) {
      throw new Error(
        `tokenizer_config.json: model_max_length is ${JSON.stringify(config.model_max_length)}; ` +
          'need a positive integer (or pass maxLength)',
      );
    }
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);

    const pad = tokenContent(config.pad_token);
    if (pad === null) {
      throw new Error('tokenizer_config.json: pad_token is missing (needed to pad input_ids to a fixed length)');
    }
    const padId = tokenizer.token_to_id(pad);
    if (padId === undefined) {
      throw new Error(
        `tokenizer_config.json: pad_token ${JSON.stringify(pad)} is not in tokenizer.json (model.vocab or added_tokens)`,
      );
    }

    const { prefix, suffix } = specialsOf(tokenizer);
    if (prefix.length + suffix.length > length) {
      throw new Error(`maxLength ${length} leaves no room for the ${prefix.length + suffix.length} special tokens`);
    }
    return new PromptTokenizer(tokenizer, length, prefix, suffix, padId);
  }

  private contentIds(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  private get specialCount(): number {
    return this.prefixIds.length + this.suffixIds.length;
  }

  encode(text: string): TokenizedText {
    const content = this.contentIds(text);
    const budget = this.maxLength - this.specialCount;
    const kept = content.slice(0, budget);
    const dropped = content.slice(budget);

    const ids = new BigInt64Array(this.maxLength).fill(BigInt(this.padId));
    [...this.prefixIds, ...kept, ...this.suffixIds].forEach((id, i) => (ids[i] = BigInt(id)));

    return {
      ids,
      tokenCount: content.length + this.specialCount,
      truncated: dropped.length > 0,
      droppedText: dropped.length > 0 ? this.tokenizer.decode(dropped, { skip_special_tokens: true }).trim() : '',
      keptTokens: kept.length,
    };
  }

  /** Tokens the text needs including special tokens (compare with maxLength for a live counter). */
  countTokens(text: string): number {
    return this.contentIds(text).length + this.specialCount;
  }
}

/**
 * Finds the special ids the post-processor adds around a single sequence, by comparing a probe text
 * encoded with and without special tokens (no ids are hard-coded).
 */
function specialsOf(tokenizer: Tokenizer): { prefix: number[]; suffix: number[] } {
  const probe = 'a';
  const bare = tokenizer.encode(probe, { add_special_tokens: false }).ids;
  const wrapped = tokenizer.encode(probe, { add_special_tokens: true }).ids;
  const empty = tokenizer.encode('', { add_special_tokens: true }).ids.join(',');
  for (let k = 0; k + bare.length <= wrapped.length; k++) {
    const prefix = wrapped.slice(0, k);
    const suffix = wrapped.slice(k + bare.length);
    if (bare.every((id, i) => wrapped[k + i] === id) && [...prefix, ...suffix].join(',') === empty) {
      return { prefix, suffix };
    }
  }
  throw new Error('tokenizer.json: post_processor output does not contain the encoded text; unsupported template');
}
