/**
 * Image sizes: aspect-ratio presets at a model's native area, and snapping of any width or height
 * to what the model takes (a multiple of 16 within its range). Pure, no DOM.
 */

export interface SideLimits {
  min: number;
  max: number;
  multipleOf: number;
}

export const ASPECTS = [
  { id: '1:1', w: 1, h: 1 },
  { id: '4:3', w: 4, h: 3 },
  { id: '3:2', w: 3, h: 2 },
  { id: '16:9', w: 16, h: 9 },
  { id: '9:16', w: 9, h: 16 },
  { id: '2:3', w: 2, h: 3 },
  { id: '3:4', w: 3, h: 4 },
] as const;
export type AspectId = (typeof ASPECTS)[number]['id'];

/** The nearest allowed side to `value` (NaN and non-numbers give the minimum). */
export function snapSide(value: number, limits: SideLimits): number {
  const { min, max, multipleOf: m } = limits;
  const lo = Math.ceil(min / m) * m;
  const hi = Math.floor(max / m) * m;
  if (!Number.isFinite(value)) return lo;
  return Math.min(hi, Math.max(lo, Math.round(value / m) * m));
}

/** Width and height of an aspect ratio at about `area` pixels, snapped to the limits. */
export function presetSize(aspect: AspectId, area: number, limits: SideLimits): { width: number; height: number } {
  const a = ASPECTS.find((x) => x.id === aspect) ?? ASPECTS[0];
  const width = Math.sqrt((area * a.w) / a.h);
  return { width: snapSide(width, limits), height: snapSide(area / width, limits) };
}

/** The preset whose ratio gives exactly this size (at the native area or the size's own), or 'custom'. */
export function aspectOf(width: number, height: number, area: number, limits: SideLimits): AspectId | 'custom' {
  for (const a of ASPECTS) {
    for (const at of [area, width * height]) {
      const s = presetSize(a.id, at, limits);
      if (s.width === width && s.height === height) return a.id;
    }
  }
  return 'custom';
}
