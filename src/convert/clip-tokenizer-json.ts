/**
 * Builds a CLIP fast-tokenizer `tokenizer.json` from the slow tokenizer's `vocab.json` + `merges.txt`
 * (what some exports carry), with the structure transformers' CLIPConverter writes (the same as the
 * fixture's, src/fixtures/tokenizer-files.ts): NFC + whitespace collapse + lowercase, CLIP's split
 * regex, byte-level BPE with the `</w>` end-of-word suffix, `<|startoftext|> … <|endoftext|>` wrapping.
 * Also fills the SD3 pad rule into tokenizer_config.json when it lacks a pad token.
 */
import { WebDiffusionError } from '../errors.js';

const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';

type TokenValue = string | { content?: string } | null | undefined;
const content = (t: TokenValue): string | null => (typeof t === 'string' ? t : (t?.content ?? null));

export function parseMerges(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((l, i) => l.trim() !== '' && !(i === 0 && l.startsWith('#version')))
    .map((l) => l.trim());
}

/** tokenizer.json for a CLIP tokenizer folder that has only vocab.json + merges.txt. */
export function buildClipTokenizerJson(vocab: Record<string, number>, mergesTxt: string, tokenizerConfig: Record<string, unknown> = {}, where = 'tokenizer'): object {
  const bos = content(tokenizerConfig.bos_token as TokenValue) ?? BOS;
  const eos = content(tokenizerConfig.eos_token as TokenValue) ?? EOS;
  const unk = content(tokenizerConfig.unk_token as TokenValue) ?? eos;
  const idOf = (token: string): number => {
    const id = vocab[token];
    if (typeof id !== 'number') {
      throw new WebDiffusionError('MODEL_INVALID', `${where}/vocab.json has no entry for ${JSON.stringify(token)}.`, { details: { file: `${where}/vocab.json`, token } });
    }
    return id;
  };
  const special = (c: string) => ({ id: idOf(c), content: c, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  const added = [special(bos), special(eos)];
  const pad = content(tokenizerConfig.pad_token as TokenValue);
  if (pad && pad !== bos && pad !== eos && /^<\|.*\|>$/.test(pad)) added.push(special(pad));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.sort((a, b) => a.id - b.id),
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [eos, idOf(eos)], cls: [bos, idOf(bos)], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: parseMerges(mergesTxt),
    },
  };
}

/**
 * tokenizer_config.json with the SD3 pad rule filled in when the source has none: tokenizer (CLIP-L)
 * pads with `<|endoftext|>`, tokenizer_2 (CLIP-G) with `!` (diffusers' SD3 repos). Returns null when
 * nothing had to change.
 */
export function withSd3PadToken(config: Record<string, unknown> | null, folder: 'tokenizer' | 'tokenizer_2'): Record<string, unknown> | null {
  if (config && content(config.pad_token as TokenValue)) return null;
  return {
    bos_token: BOS,
    eos_token: EOS,
    unk_token: EOS,
    model_max_length: 77,
    do_lower_case: true,
    tokenizer_class: 'CLIPTokenizer',
    ...(config ?? {}),
    pad_token: folder === 'tokenizer' ? EOS : '!',
  };
}
