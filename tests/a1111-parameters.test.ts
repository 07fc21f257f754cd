/**
 * The A1111 "parameters" text: what we write is what A1111 writes (field names, order, quoting),
 * and what A1111 and its forks write is read back, extra fields reported as ignored.
 */
import { describe, expect, it } from 'vitest';
import { formatParameters, parametersFromInfotext, parseInfotext, quote } from '../src/shared/a1111-parameters.js';
import type { ImageParams } from '../src/shared/params.js';
import { readParameters, textChunk, withParameters } from '../src/shared/png-metadata.js';
import encodeChunks from 'png-chunks-encode';
import extractChunks from 'png-chunks-extract';

const base: ImageParams = { prompt: 'a lighthouse at sunset', negativePrompt: 'blurry', width: 256, height: 256, steps: 8, guidance: 4.5, seed: 1234, modelId: 'tiny-sd3' };
const models = (name: string) => (['tiny-sd3', 'tiny-sd3-q4'].includes(name) ? name : undefined);

describe('formatParameters', () => {
  it('writes A1111 field names in A1111 order', () => {
    expect(formatParameters(base)).toBe(
      'a lighthouse at sunset\nNegative prompt: blurry\nSteps: 8, Sampler: Euler, Schedule type: Simple, CFG scale: 4.5, Seed: 1234, Size: 256x256, Model: tiny-sd3, Version: webdiffusion 0.1.0',
    );
  });
  it('leaves out an empty negative prompt, as A1111 does', () => {
    expect(formatParameters({ ...base, negativePrompt: '' }).split('\n')).toEqual(['a lighthouse at sunset', expect.stringMatching(/^Steps: 8, /)]);
  });
  it('quotes values with commas, colons or newlines like A1111 quote()', () => {
    expect(quote('a, b')).toBe('"a, b"');
    expect(quote('x: y')).toBe('"x: y"');
    expect(quote('plain')).toBe('plain');
    expect(quote(4.5)).toBe('4.5');
  });
});

describe('round trip', () => {
  it.each([
    ['simple', base],
    ['no negative', { ...base, negativePrompt: '' }],
    ['commas and weights', { ...base, prompt: '(masterpiece:1.2), a cat, 4k', negativePrompt: 'lowres, (bad hands:1.3)' }],
    ['multi-line prompts', { ...base, prompt: 'line one\nline two', negativePrompt: 'neg one\nneg two' }],
    ['unicode', { ...base, prompt: '富士山 at dawn — 🌅', seed: 4294967295, width: 1024, height: 576, guidance: 0 }],
  ])('%s', (_name, p) => {
    const r = parametersFromInfotext(formatParameters(p), models);
    expect(r.params).toEqual(p);
    expect(r.ignored).toEqual([]);
    expect(r.restored).toEqual(['prompt', 'negative prompt', 'steps', 'guidance', 'seed', 'size', 'model']);
  });
});

describe('reading A1111 infotexts', () => {
  const a1111 = [
    'masterpiece, best quality, 1girl, (portrait:1.1)',
    'a second prompt line',
    'Negative prompt: lowres, bad anatomy,',
    'bad hands, text, error',
    'Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 965400086, Size: 512x768, Model hash: 45dee52b, Model: sd_xl_base_1.0, Denoising strength: 0.7, Hires upscale: 2, Hires upscaler: Latent, Lora hashes: "detail: 1a2b3c, style: 4d5e6f", Version: v1.10.1',
  ].join('\n');

  it('splits like parse_generation_parameters (multi-line prompt and negative, quoted values)', () => {
    const info = parseInfotext(a1111);
    expect(info.prompt).toBe('masterpiece, best quality, 1girl, (portrait:1.1)\na second prompt line');
    expect(info.negativePrompt).toBe('lowres, bad anatomy,\nbad hands, text, error');
    expect(Object.fromEntries(info.fields)['Lora hashes']).toBe('detail: 1a2b3c, style: 4d5e6f');
    expect(Object.fromEntries(info.fields)['Hires upscale']).toBe('2');
  });

  it('restores what it understands and names what it ignored', () => {
    const r = parametersFromInfotext(a1111, models);
    expect(r.params).toEqual({
      prompt: 'masterpiece, best quality, 1girl, (portrait:1.1)\na second prompt line',
      negativePrompt: 'lowres, bad anatomy,\nbad hands, text, error',
      steps: 28,
      guidance: 7,
      seed: 965400086,
      width: 512,
      height: 768,
    });
    expect(r.ignored).toEqual([
      'Sampler: DPM++ 2M (this app always samples with Euler)',
      'Schedule type: Karras',
      'Model hash: 45dee52b',
      'Model: sd_xl_base_1.0 (no such model here)',
      'Denoising strength: 0.7',
      'Hires upscale: 2',
      'Hires upscaler: Latent',
      'Lora hashes: detail: 1a2b3c, style: 4d5e6f',
    ]);
  });

  it('reads a text with no parameter line as a prompt only', () => {
    const r = parametersFromInfotext('just a prompt, nothing else');
    expect(r.params).toEqual({ prompt: 'just a prompt, nothing else', negativePrompt: '' });
  });

  it('reports unusable values instead of restoring them', () => {
    const r = parametersFromInfotext('p\nSteps: many, CFG scale: 7, Seed: -1, Size: 512x512');
    expect(r.params.steps).toBeUndefined();
    expect(r.params.seed).toBeUndefined();
    expect(r.ignored).toContain('Steps: many (not a whole number)');
    expect(r.ignored).toContain('Seed: -1 (not a whole number)');
  });
});

describe('PNG chunks', () => {
  // The smallest valid PNG: 1×1 grey, made with the same chunk library.
  const ihdr = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  const idat = Uint8Array.from([0x78, 0x9c, 0x63, 0x68, 0x00, 0x00, 0x00, 0x82, 0x00, 0x81]);
  const png = encodeChunks([{ name: 'IHDR', data: ihdr }, { name: 'IDAT', data: idat }, { name: 'IEND', data: new Uint8Array(0) }]);

  it('writes a tEXt chunk right after IHDR and reads it back', async () => {
    const text = formatParameters(base);
    const tagged = new Uint8Array(await (await withParameters(new Blob([png as Uint8Array<ArrayBuffer>]), text)).arrayBuffer());
    expect(extractChunks(tagged).map((c) => c.name)).toEqual(['IHDR', 'tEXt', 'IDAT', 'IEND']);
    expect(await readParameters(tagged)).toBe(text);
  });

  it('uses iTXt (UTF-8) for text that is not Latin-1, as Pillow does', async () => {
    const text = formatParameters({ ...base, prompt: '富士山 🌅' });
    const tagged = new Uint8Array(await (await withParameters(new Blob([png as Uint8Array<ArrayBuffer>]), text)).arrayBuffer());
    expect(extractChunks(tagged)[1]!.name).toBe('iTXt');
    expect(await readParameters(tagged)).toBe(text);
  });

  it('reads a compressed iTXt chunk', async () => {
    const body = new Uint8Array(await new Response(new Blob(['Steps: 1, Sampler: Euler, CFG scale: 1']).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer());
    const head = new TextEncoder().encode('parameters');
    const data = new Uint8Array(head.length + 5 + body.length);
    data.set(head);
    data[head.length + 1] = 1; // compressed
    data.set(body, head.length + 5);
    const chunk = encodeChunks([{ name: 'iTXt', data }]).subarray(8);
    const tagged = new Uint8Array([...png.subarray(0, 33), ...chunk, ...png.subarray(33)]);
    expect(await readParameters(tagged)).toBe('Steps: 1, Sampler: Euler, CFG scale: 1');
  });

  it('gives null for a PNG without parameters and throws for a file that is not a PNG', async () => {
    expect(await readParameters(png)).toBeNull();
    await expect(readParameters(new TextEncoder().encode('GIF89a'))).rejects.toThrow();
    expect(textChunk('parameters', 'x').length).toBe(4 + 4 + 12 + 4);
  });
});
