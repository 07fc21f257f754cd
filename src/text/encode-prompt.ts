/**
 * Prompts → SD3 prompt embeddings: tokenize for each encoder, run CLIP-L, CLIP-G and T5 (batched
 * over the prompts), take CLIP's penultimate hidden state and projected pooled output, and assemble.
 */
import type { Sd3Config } from '../models/sd3-config.js';
import type { TruncationReport } from '../protocol.js';
import type { ModelSession, TensorData } from '../runtime/session-runner.js';
import { assemblePromptEmbeddings, type PromptEmbeddings } from './prompt-embeddings.js';
import type { PromptTokenizer, TokenizedText } from './tokenize.js';

export interface TextEncoders {
  clipL: { tokenizer: PromptTokenizer; session: ModelSession };
  clipG: { tokenizer: PromptTokenizer; session: ModelSession };
  t5: { tokenizer: PromptTokenizer; session: ModelSession } | null;
}

export interface PromptInput {
  text: string;
  field: TruncationReport['field'];
}

function idsBatch(tokenized: TokenizedText[]): TensorData {
  const len = tokenized[0]!.ids.length;
  const data = new BigInt64Array(tokenized.length * len);
  tokenized.forEach((t, b) => data.set(t.ids, b * len));
  return { type: 'int64', data, dims: [tokenized.length, len] };
}

function report(prompts: PromptInput[], tokenized: TokenizedText[], encoder: 'clip' | 't5', max: number): TruncationReport[] {
  return tokenized.flatMap((t, i) =>
    t.truncated ? [{ field: prompts[i]!.field, encoder, maxTokens: max, tokenCount: t.tokenCount, droppedText: t.droppedText }] : [],
  );
}

/** The CLIP output that diffusers uses as the sequence: hidden_states[-2] (penultimate layer). */
export function clipSequenceOutput(layers: number): string {
  return `hidden_states.${layers - 1}`;
}

export async function encodePrompts(
  encoders: TextEncoders,
  config: Sd3Config,
  prompts: PromptInput[],
): Promise<{ embeddings: PromptEmbeddings; truncated: TruncationReport[] }> {
  const texts = prompts.map((p) => p.text);
  const runClip = async (enc: TextEncoders['clipL'], layers: number) => {
    const tokenized = texts.map((t) => enc.tokenizer.encode(t));
    const seqName = clipSequenceOutput(layers);
    const out = await enc.session.run({ input_ids: idsBatch(tokenized) }, [seqName, 'text_embeds']);
    const seq = out[seqName]!;
    const pooled = out.text_embeds!;
    return {
      tokenized,
      sequence: { data: seq.data, dims: seq.dims as [number, number, number] },
      pooled: { data: pooled.data, dims: pooled.dims as [number, number] },
    };
  };
  const l = await runClip(encoders.clipL, config.clipL.layers);
  const g = await runClip(encoders.clipG, config.clipG.layers);
  let t5Seq = null;
  const truncated = [...report(prompts, l.tokenized, 'clip', encoders.clipL.tokenizer.maxLength)];
  if (encoders.t5) {
    const tokenized = texts.map((t) => encoders.t5!.tokenizer.encode(t));
    const out = await encoders.t5.session.run({ input_ids: idsBatch(tokenized) }, ['last_hidden_state']);
    const h = out.last_hidden_state!;
    t5Seq = { data: h.data, dims: h.dims as [number, number, number] };
    truncated.push(...report(prompts, tokenized, 't5', encoders.t5.tokenizer.maxLength));
  }
  const embeddings = assemblePromptEmbeddings({
    clipL: l,
    clipG: g,
    t5: t5Seq,
    jointDim: config.transformer.jointAttentionDim,
    t5Length: config.t5Length,
  });
  return { embeddings, truncated };
}
