/**
 * Classifier-free guidance as one batch-2 transformer run or two batch-1 runs, chosen from the GPU's
 * buffer limits. The largest single buffers of an MMDiT step are the joint attention's score
 * matrix [batch, heads, tokens, tokens] (JSEP materialises it, contract §7.3) and the image
 * feed-forward activation [batch, image tokens, 4·width]; each must fit one storage binding and one buffer.
 * Pure: the numbers come from the model and the adapter.
 */

export interface TransformerWorkload {
  /** Attention heads (SD3: hidden width / 64). */
  heads: number;
  /** Hidden width (heads · 64 in SD3). */
  width: number;
  /** Image tokens: (H/16)·(W/16) for a patch size of 2 and a VAE factor of 8. */
  imageTokens: number;
  /** Text tokens: 77 CLIP + 256 T5 = 333. */
  textTokens: number;
  /** Bytes per activation value: 4 for fp32 activations (q4, fp32), 2 for fp16 (q4f16, fp16). */
  bytesPerValue: number;
}

export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface GuidanceBatching {
  plan: 'batched' | 'split';
  /** Largest single buffer of one batch-2 step, and of one batch-1 step (bytes). */
  batch2Bytes: number;
  batch1Bytes: number;
  /** The limit compared against: min(maxBufferSize, maxStorageBufferBindingSize). */
  limitBytes: number;
  reason: string;
}

/** The largest single activation buffer of a transformer step at `batch`. */
export function largestStepBuffer(w: TransformerWorkload, batch: number): number {
  const tokens = w.imageTokens + w.textTokens;
  const attention = batch * w.heads * tokens * tokens * w.bytesPerValue;
  const feedForward = batch * w.imageTokens * 4 * w.width * w.bytesPerValue;
  return Math.max(attention, feedForward);
}

const MiB = 1024 * 1024;
const mib = (n: number) => `${Math.round(n / MiB)} MiB`;

/**
 * One batch-2 run when its largest buffer fits the adapter's limits, two batch-1 runs otherwise
 * (including when even batch 1 exceeds them: the smaller runs are still the best chance). Without
 * known limits (no WebGPU adapter) the batch-2 run is taken.
 */
export function chooseGuidanceBatching(w: TransformerWorkload, limits: BufferLimits | undefined): GuidanceBatching {
  const batch2Bytes = largestStepBuffer(w, 2);
  const batch1Bytes = largestStepBuffer(w, 1);
  if (!limits) return { plan: 'batched', batch2Bytes, batch1Bytes, limitBytes: Infinity, reason: 'no GPU buffer limits apply' };
  const limitBytes = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  if (batch2Bytes <= limitBytes) {
    return { plan: 'batched', batch2Bytes, batch1Bytes, limitBytes, reason: `one batch-2 run: its largest buffer (${mib(batch2Bytes)}) fits the GPU's ${mib(limitBytes)}` };
  }
  const reason =
    batch1Bytes <= limitBytes
      ? `two batch-1 runs: a batch-2 run needs a ${mib(batch2Bytes)} buffer, over the GPU's ${mib(limitBytes)}`
      : `two batch-1 runs: even one image needs a ${mib(batch1Bytes)} buffer, over the GPU's ${mib(limitBytes)}; a smaller size may fail`;
  return { plan: 'split', batch2Bytes, batch1Bytes, limitBytes, reason };
}

/** SD3 token counts for an image size (patch 2, VAE factor 8) and the workload of a model of `width`. */
export function sd3Workload(width: number, image: { width: number; height: number }, options: { textTokens?: number; bytesPerValue?: number } = {}): TransformerWorkload {
  return {
    heads: Math.max(1, Math.round(width / 64)),
    width,
    imageTokens: (image.width / 16) * (image.height / 16),
    textTokens: options.textTokens ?? 333,
    bytesPerValue: options.bytesPerValue ?? 4,
  };
}
