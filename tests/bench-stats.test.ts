// The benchmark's pure arithmetic (scripts/bench/stats.ts) and the Medium-slice configs: no timings here.
import { describe, expect, it } from 'vitest';
import { checkFixtureConfig } from '../src/fixtures/fixture-config.js';
import { MEDIUM_LAYOUT, mediumSliceConfig, mediumSliceId, packVariantBytes } from '../src/fixtures/medium-slice.js';
import type { PackManifest } from '../src/models/pack-manifest.js';
import { markdownTable, median, medianRatio, overheadFraction, perStep, projectMedium } from '../scripts/bench/stats.js';

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values, ignoring non-finite samples', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([2, NaN, 4, Infinity])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it('medianRatio pairs samples by position', () => {
    expect(medianRatio([10, 30, 20], [10, 10, 10])).toBe(2);
    expect(() => medianRatio([1, 2], [1])).toThrow(RangeError);
  });
});

describe('projectMedium', () => {
  it('separates the fixed part, a dual block and a joint block, then counts Medium\'s 13 dual and 10 joint blocks', () => {
    const p = projectMedium({ oneBlock: 3, twoBlocks: 5, threeBlocks: 6.5 });
    expect(p.fixedAndLastBlock).toBe(3);
    expect(p.dualBlock).toBe(2);
    expect(p.jointBlock).toBe(1.5);
    expect(p.fullStep).toBe(3 + 13 * 2 + 10 * 1.5);
    expect(MEDIUM_LAYOUT.dualBlocks + MEDIUM_LAYOUT.jointBlocks + MEDIUM_LAYOUT.lastBlocks).toBe(MEDIUM_LAYOUT.blocks);
  });
});

describe('perStep and overheadFraction', () => {
  it('differences totals at two step counts, so once-per-image bytes cancel', () => {
    // 1000 bytes per generation (prompt, decode) + 48 per step
    expect(perStep(2, 1000 + 2 * 48, 6, 1000 + 6 * 48)).toBe(48);
    expect(perStep(6, 1000 + 6 * 48, 2, 1000 + 2 * 48)).toBe(48);
    expect(perStep(2, 500, 6, 500)).toBe(0);
    expect(() => perStep(3, 1, 3, 2)).toThrow(RangeError);
  });

  it('overhead is the share of wall time outside session runs', () => {
    expect(overheadFraction(1000, 970)).toBeCloseTo(0.03, 12);
    expect(overheadFraction(0, 0)).toBeNaN();
  });
});

describe('markdownTable', () => {
  it('writes one row per figure with yes / no / — and escapes pipes', () => {
    const t = markdownTable([
      { figure: 'a | b', value: '1.10×', goal: '≤ 1.25×', met: true },
      { figure: 'c', value: '2', goal: '≤ 1', met: false },
      { figure: 'd', value: 'n/a', goal: '—', met: null },
    ]);
    expect(t.split('\n')).toEqual([
      '| figure | value | goal | met? |',
      '|---|---|---|---|',
      '| a \\| b | 1.10× | ≤ 1.25× | yes |',
      '| c | 2 | ≤ 1 | no |',
      '| d | n/a | — | — |',
    ]);
  });
});

describe('Medium-slice configs', () => {
  it('carry SD 3.5 Medium widths and obey the fixture rules', () => {
    for (const [blocks, joint] of [[1, 0], [2, 0], [3, 1]] as const) {
      const c = mediumSliceConfig(blocks, { plainJointBlocks: joint });
      checkFixtureConfig(c);
      expect(c.transformer.heads * c.transformer.headDim).toBe(1536);
      expect(c.transformer.jointAttentionDim).toBe(4096);
      expect(c.transformer.pooledProjectionDim).toBe(2048);
      expect(c.transformer.layers).toBe(blocks);
      expect(c.transformer.dualAttentionLayers).toEqual(Array.from({ length: blocks - 1 - joint }, (_, i) => i));
    }
    expect(mediumSliceId(3, 1)).toBe('medium-slice-3-1j');
    expect(() => mediumSliceConfig(0)).toThrow(RangeError);
    expect(() => mediumSliceConfig(2, { plainJointBlocks: 2 })).toThrow(RangeError);
  });

  it('packVariantBytes sums the files of one variant per component', () => {
    const f = (bytes: number) => ({ path: 'x', bytes, sha256: '0'.repeat(64) });
    const manifest = {
      components: {
        transformer: { variants: { q4: { files: [f(10), f(20)] }, fp32: { files: [f(1000)] } } },
        vae_decoder: { variants: { fp32: { files: [f(5)] } } },
      },
    } as unknown as PackManifest;
    expect(packVariantBytes(manifest, 'q4')).toEqual({ total: 35, byComponent: { transformer: 30, vae_decoder: 5 } });
  });
});
