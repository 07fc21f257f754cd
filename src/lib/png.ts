/**
 * An image as a PNG file with its settings in a "parameters" text chunk (AUTOMATIC1111's format,
 * as the app's Download PNG writes it), so PNG-info readers and the app itself read them back.
 */
import { formatParameters } from '../shared/a1111-parameters.js';
import type { ImageParams } from '../shared/params.js';
import { withParameters } from '../shared/png-metadata.js';

/** The pixels of `image` as a PNG (the browser encodes it). */
export async function encodePng(image: ImageBitmap): Promise<Blob> {
  if (typeof OffscreenCanvas !== 'undefined') {
    const canvas = new OffscreenCanvas(image.width, image.height);
    canvas.getContext('2d')!.drawImage(image, 0, 0);
    return canvas.convertToBlob({ type: 'image/png' });
  }
  const canvas = Object.assign(document.createElement('canvas'), { width: image.width, height: image.height });
  canvas.getContext('2d')!.drawImage(image, 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('The image could not be encoded as PNG.'))), 'image/png'));
}

export async function pngWithParameters(image: ImageBitmap, params: ImageParams): Promise<Blob> {
  return withParameters(await encodePng(image), formatParameters(params));
}
