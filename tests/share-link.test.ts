/** Share links: every parameter survives the trip through the URL fragment; bad values are reported. */
import { describe, expect, it } from 'vitest';
import type { GenerationParams } from '../src/shared/params.js';
import { isShareFragment, paramsFromFragment, shareFragment, shareUrl } from '../src/app/share-link.js';

const p: GenerationParams = { prompt: 'a fox & a hare, 50% #1?', negativePrompt: 'blurry\nlowres', width: 320, height: 192, steps: 12, guidance: 3.5, seed: 42, modelId: 'tiny-sd3' };

describe('share links', () => {
  it('round-trips every parameter, including awkward characters', () => {
    expect(paramsFromFragment(shareFragment(p))).toEqual({ params: p, problems: [] });
  });
  it('puts the parameters in the fragment, keeping the query (?model=, ?backend=)', () => {
    const url = new URL(shareUrl('http://127.0.0.1:4173/app/?backend=wasm#old', p));
    expect(url.search).toBe('?backend=wasm');
    expect(url.hash).toMatch(/^#prompt=/);
    expect(paramsFromFragment(url.hash).params.prompt).toBe(p.prompt);
  });
  it('a random seed is left out, and reading it back means random', () => {
    const frag = shareFragment({ ...p, seed: null });
    expect(frag).not.toContain('seed=');
    expect(paramsFromFragment(frag).params.seed).toBeNull();
  });
  it('reports values it cannot use and keeps the rest', () => {
    const r = paramsFromFragment('#prompt=cat&size=big&steps=1.5&guidance=x&seed=-3&model=tiny-sd3');
    expect(r.params).toEqual({ prompt: 'cat', modelId: 'tiny-sd3' });
    expect(r.problems).toEqual(['size=big', 'steps=1.5', 'guidance=x', 'seed=-3']);
  });
  it('tells our fragments from other ones', () => {
    expect(isShareFragment('#prompt=x')).toBe(true);
    expect(isShareFragment('')).toBe(false);
    expect(isShareFragment('#section-2')).toBe(false);
    // An in-page anchor named like a key (the skip link's #prompt) is not a link's parameters.
    expect(isShareFragment('#prompt')).toBe(false);
  });
});
