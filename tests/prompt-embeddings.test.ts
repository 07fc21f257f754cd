import { describe, expect, it } from 'vitest';
import { assemblePromptEmbeddings } from '../src/text/prompt-embeddings.js';

const seq = (b: number, s: number, h: number, base: number) => ({
  data: Float32Array.from({ length: b * s * h }, (_, i) => base + i),
  dims: [b, s, h] as const,
});
const pooled = (b: number, h: number, base: number) => ({ data: Float32Array.from({ length: b * h }, (_, i) => base + i), dims: [b, h] as const });

describe('assemblePromptEmbeddings (contract §1.3)', () => {
  const B = 2, S = 77, hL = 3, hG = 4, joint = 10, T = 5;
  const clipL = { sequence: seq(B, S, hL, 1000), pooled: pooled(B, 2, 10) };
  const clipG = { sequence: seq(B, S, hG, 5000), pooled: pooled(B, 3, 20) };

  it('with T5: [B, 77 + T5 length, joint]; CLIP-L | CLIP-G | zeros, then T5 rows', () => {
    const t5 = seq(B, T, joint, 9000);
    const e = assemblePromptEmbeddings({ clipL, clipG, t5, jointDim: joint, t5Length: 256 });
    expect(e.embedsDims).toEqual([B, S + T, joint]);
    const row = (b: number, s: number) => Array.from(e.embeds.subarray((b * (S + T) + s) * joint, (b * (S + T) + s + 1) * joint));
    // batch 1, token 5: CLIP-L features, CLIP-G features, zero padding
    const l = Array.from({ length: hL }, (_, k) => 1000 + (1 * S + 5) * hL + k);
    const g = Array.from({ length: hG }, (_, k) => 5000 + (1 * S + 5) * hG + k);
    expect(row(1, 5)).toEqual([...l, ...g, 0, 0, 0]);
    // batch 1, first T5 token
    expect(row(1, S)).toEqual(Array.from({ length: joint }, (_, k) => 9000 + 1 * T * joint + k));
    expect(e.pooledDims).toEqual([B, 5]);
    expect(Array.from(e.pooled.subarray(5, 10))).toEqual([12, 13, 23, 24, 25]);
  });

  it('without T5: zeros [B, 256, joint] keep the sequence at 333', () => {
    const e = assemblePromptEmbeddings({ clipL, clipG, t5: null, jointDim: joint, t5Length: 256 });
    expect(e.embedsDims).toEqual([B, 333, joint]);
    const t5Part = e.embeds.subarray((1 * 333 + 77) * joint, 2 * 333 * joint);
    expect(t5Part.every((v) => v === 0)).toBe(true);
  });

  it('refuses CLIP widths wider than the joint dimension', () => {
    expect(() => assemblePromptEmbeddings({ clipL, clipG, t5: null, jointDim: 6, t5Length: 256 })).toThrow(RangeError);
  });
});
