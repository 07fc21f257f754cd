/**
 * Assembly of SD3 prompt embeddings from the three encoders' outputs (contract §1.3), pure:
 *   clip = concat(CLIP-L seq, CLIP-G seq) on features → zero-pad to jointDim → concat T5 (or zeros) on sequence
 *   pooled = concat(CLIP-L pooled, CLIP-G pooled)
 */

export interface EncoderSequence {
  data: Float32Array;
  /** [batch, sequence, features] */
  dims: readonly [number, number, number];
}

export interface EncoderPooled {
  data: Float32Array;
  /** [batch, features] */
  dims: readonly [number, number];
}

export interface PromptEmbeddings {
  /** [batch, clipLength + t5Length, jointDim] */
  embeds: Float32Array;
  embedsDims: [number, number, number];
  /** [batch, pooledL + pooledG] */
  pooled: Float32Array;
  pooledDims: [number, number];
}

export interface AssembleInput {
  clipL: { sequence: EncoderSequence; pooled: EncoderPooled };
  clipG: { sequence: EncoderSequence; pooled: EncoderPooled };
  /** T5 last_hidden_state, or null when the model has no T5 (zeros of [batch, t5Length, jointDim] are used). */
  t5: EncoderSequence | null;
  jointDim: number;
  t5Length: number;
}

export function assemblePromptEmbeddings(input: AssembleInput): PromptEmbeddings {
  const { clipL, clipG, t5, jointDim } = input;
  const [batch, clipLen, hL] = clipL.sequence.dims;
  const [batchG, clipLenG, hG] = clipG.sequence.dims;
  if (batchG !== batch || clipLenG !== clipLen) throw new RangeError('CLIP-L and CLIP-G sequences differ in batch or length');
  if (hL + hG > jointDim) throw new RangeError(`CLIP widths ${hL}+${hG} exceed the joint dimension ${jointDim}`);
  const t5Len = t5 ? t5.dims[1] : input.t5Length;
  if (t5 && (t5.dims[0] !== batch || t5.dims[2] !== jointDim)) throw new RangeError('T5 output does not match batch or joint dimension');
  const seqLen = clipLen + t5Len;
  const embeds = new Float32Array(batch * seqLen * jointDim); // zero-initialised: padding and absent T5
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < clipLen; s++) {
      const dst = (b * seqLen + s) * jointDim;
      embeds.set(clipL.sequence.data.subarray((b * clipLen + s) * hL, (b * clipLen + s + 1) * hL), dst);
      embeds.set(clipG.sequence.data.subarray((b * clipLen + s) * hG, (b * clipLen + s + 1) * hG), dst + hL);
    }
    if (t5) {
      const block = t5Len * jointDim;
      embeds.set(t5.data.subarray(b * block, (b + 1) * block), (b * seqLen + clipLen) * jointDim);
    }
  }
  const [pb, pL] = clipL.pooled.dims;
  const [pbG, pG] = clipG.pooled.dims;
  if (pb !== batch || pbG !== batch) throw new RangeError('pooled outputs do not match the batch');
  const pooled = new Float32Array(batch * (pL + pG));
  for (let b = 0; b < batch; b++) {
    pooled.set(clipL.pooled.data.subarray(b * pL, (b + 1) * pL), b * (pL + pG));
    pooled.set(clipG.pooled.data.subarray(b * pG, (b + 1) * pG), b * (pL + pG) + pL);
  }
  return { embeds, embedsDims: [batch, seqLen, jointDim], pooled, pooledDims: [batch, pL + pG] };
}
