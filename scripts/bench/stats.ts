/**
 * The benchmark's arithmetic, kept pure so it is unit-tested: medians, the projection of a full
 * SD 3.5 Medium step from slices, per-step differencing, overhead fractions and the markdown table.
 */
import { MEDIUM_LAYOUT } from '../../src/fixtures/medium-slice.js';

export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Median of element-wise ratios a[i] / b[i] (pairs measured back to back, so load drifts cancel). */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`medianRatio: ${a.length} vs ${b.length} samples`);
  return median(a.map((x, i) => x / b[i]!));
}

export interface SliceTimes {
  /** Embedders, head and the context_pre_only last block (a 1-block slice). */
  oneBlock: number;
  /** + one dual-attention (MMDiT-X) block. */
  twoBlocks: number;
  /** + one plain joint block (a 3-block slice with 1 dual and 1 joint block). */
  threeBlocks: number;
}

export interface MediumProjection {
  fixedAndLastBlock: number;
  dualBlock: number;
  jointBlock: number;
  /** fixed + last + 13 dual + 10 joint blocks (contract §3.1). */
  fullStep: number;
}

/** A full Medium step from slice times: per-block costs are the differences of consecutive slices. */
export function projectMedium(t: SliceTimes, layout: { dualBlocks: number; jointBlocks: number } = MEDIUM_LAYOUT): MediumProjection {
  const dualBlock = t.twoBlocks - t.oneBlock;
  const jointBlock = t.threeBlocks - t.twoBlocks;
  return { fixedAndLastBlock: t.oneBlock, dualBlock, jointBlock, fullStep: t.oneBlock + layout.dualBlocks * dualBlock + layout.jointBlocks * jointBlock };
}

/** Per-step amount from totals at two step counts: whatever happens once per generation cancels. */
export function perStep(steps1: number, total1: number, steps2: number, total2: number): number {
  if (steps2 === steps1) throw new RangeError('perStep: the two runs need different step counts');
  return (total2 - total1) / (steps2 - steps1);
}

/** (wall − time inside session runs) / wall. */
export function overheadFraction(wallMs: number, sessionMs: number): number {
  return wallMs > 0 ? (wallMs - sessionMs) / wallMs : NaN;
}

export interface Row {
  figure: string;
  value: string;
  goal: string;
  /** null: no goal, or not measured. */
  met: boolean | null;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(rows: readonly Row[]): string {
  const lines = ['| figure | value | goal | met? |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${cell(r.figure)} | ${cell(r.value)} | ${cell(r.goal)} | ${r.met === null ? '—' : r.met ? 'yes' : 'no'} |`);
  return lines.join('\n');
}

export const seconds = (ms: number, digits = 2): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(digits)} s` : 'n/a');
export const percent = (f: number, digits = 1): string => (Number.isFinite(f) ? `${(f * 100).toFixed(digits)} %` : 'n/a');
export const times = (r: number, digits = 2): string => (Number.isFinite(r) ? `${r.toFixed(digits)}×` : 'n/a');
export const mib = (b: number): string => (Number.isFinite(b) ? `${(b / 1024 / 1024).toFixed(0)} MiB` : 'n/a');
