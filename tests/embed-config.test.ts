/**
 * <sd-generator>'s attributes: parsing, defaults, the values it refuses (named, not guessed), and the
 * size part of its stylesheet.
 */
import { describe, expect, it } from 'vitest';
import { displaySize, parseConfig, type ElementAttribute } from '../src/embed/config.js';
import { sizeCss } from '../src/embed/styles.js';

const attrs = (values: Partial<Record<ElementAttribute, string>>) => (name: ElementAttribute) => values[name] ?? null;

describe('parseConfig', () => {
  it('gives the demo model, the registry path and random seeds when no attribute is set', () => {
    const { config, problems } = parseConfig(attrs({}));
    expect(config).toEqual({
      model: 'tiny-sd3',
      packBase: null,
      backend: 'auto',
      prompt: '',
      negativePrompt: '',
      width: undefined,
      height: undefined,
      steps: undefined,
      guidance: undefined,
      seed: null,
    });
    expect(problems).toEqual([]);
  });

  it('reads every attribute', () => {
    const { config, problems } = parseConfig(
      attrs({ model: ' sd35-medium ', 'pack-base': 'https://cdn.example/packs/', backend: 'WASM', prompt: '  a cat ', 'negative-prompt': 'blur', width: '512', height: '768', steps: '20', guidance: '3.5', seed: '4294967295' }),
    );
    expect(config).toEqual({
      model: 'sd35-medium',
      packBase: 'https://cdn.example/packs/',
      backend: 'wasm',
      prompt: '  a cat ',
      negativePrompt: 'blur',
      width: 512,
      height: 768,
      steps: 20,
      guidance: 3.5,
      seed: 4294967295,
    });
    expect(problems).toEqual([]);
  });

  it('ignores values it cannot use and says which and why', () => {
    const { config, problems } = parseConfig(attrs({ width: 'wide', height: '-16', steps: '2.5', guidance: 'NaN', seed: '4294967296', backend: 'gpu', model: '' }));
    expect([config.width, config.height, config.steps, config.guidance, config.seed, config.backend, config.model]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      null,
      'auto',
      'tiny-sd3',
    ]);
    expect(problems).toEqual([
      'backend="gpu" is not one of auto, webgpu, wasm; auto is used.',
      'width="wide" is not a whole number from 1 to 4096; the default is used.',
      'height="-16" is not a whole number from 1 to 4096; the default is used.',
      'steps="2.5" is not a whole number from 1 to 200; the default is used.',
      'guidance="NaN" is not a number from 0 to 50; the default is used.',
      'seed="4294967296" is not a whole number from 0 to 4294967295; the default is used.',
    ]);
  });

  it('leaves size checks (multiple of 16, model range) to the engine, which reports INVALID_SIZE', () => {
    expect(parseConfig(attrs({ width: '100' })).config.width).toBe(100);
  });
});

describe('the element size', () => {
  it('falls back to the model size per side', () => {
    expect(displaySize({ width: 512, height: undefined }, { width: 1024, height: 1024 })).toEqual({ width: 512, height: 1024 });
  });
  it('is as wide as the image plus its frame, at least 288 px, and the frame keeps the aspect ratio', () => {
    expect(sizeCss(256, 256)).toBe(':host { width: var(--sd-generator-width, 288px) !important; } .frame { width: 256px; aspect-ratio: 256 / 256; }');
    expect(sizeCss(512, 768)).toContain('var(--sd-generator-width, 538px)');
    expect(sizeCss(512, 768)).toContain('aspect-ratio: 512 / 768');
  });
});
