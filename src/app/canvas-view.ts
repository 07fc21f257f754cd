/**
 * The image on the page: a canvas in a box that keeps its aspect ratio from the start of a job, so
 * nothing moves while previews arrive. Previews (latent resolution, 1/8 of the image) are scaled up
 * with smoothing; the final image replaces them.
 */
import type { PreviewImage } from '../protocol.js';

export class CanvasView {
  private readonly small = document.createElement('canvas');
  previews = 0;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly box: HTMLElement,
  ) {
    this.fitBox(canvas.width, canvas.height);
  }

  private fitBox(width: number, height: number): void {
    this.box.style.aspectRatio = `${width} / ${height}`;
    this.box.style.setProperty('--ar', String(width / height));
  }

  /** Sizes the canvas for an image of this size (clearing it when the size changes). */
  reserve(width: number, height: number, clear = false): void {
    if (clear || this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.fitBox(width, height);
  }

  drawPreview(p: PreviewImage, step: number): void {
    if (this.small.width !== p.width || this.small.height !== p.height) {
      this.small.width = p.width;
      this.small.height = p.height;
    }
    this.small.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(p.rgba), p.width, p.height), 0, 0);
    const ctx = this.canvas.getContext('2d')!;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(this.small, 0, 0, this.canvas.width, this.canvas.height);
    this.previews++;
    window.dispatchEvent(new CustomEvent('webdiffusion:preview', { detail: { step } }));
  }

  drawImage(image: CanvasImageSource & { width: number; height: number }): void {
    this.reserve(image.width, image.height);
    const ctx = this.canvas.getContext('2d')!;
    ctx.clearRect(0, 0, image.width, image.height);
    ctx.drawImage(image, 0, 0);
  }

  async showPng(png: Blob): Promise<void> {
    const bitmap = await createImageBitmap(png);
    try {
      this.drawImage(bitmap);
    } finally {
      bitmap.close();
    }
  }

  /** The canvas as a PNG (the browser encodes it off the main thread). */
  toPng(): Promise<Blob> {
    return new Promise((resolve, reject) => this.canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('The canvas could not be encoded as PNG.'))), 'image/png'));
  }
}

/** A small PNG of an image, at most `side` pixels on its longer side. */
export function thumbnail(image: CanvasImageSource & { width: number; height: number }, side = 192): Promise<Blob> {
  const scale = Math.min(1, side / Math.max(image.width, image.height));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(image.width * scale));
  c.height = Math.max(1, Math.round(image.height * scale));
  const ctx = c.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(image, 0, 0, c.width, c.height);
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('The thumbnail could not be encoded.'))), 'image/png'));
}
