/**
 * Cuts a byte stream into chunks of a fixed size while hashing it, handing each chunk over with the
 * hash state after it (so a resumed download can continue the hash). One buffer is reused: the
 * receiver must copy or store the chunk before its promise resolves (IndexedDB's put clones it).
 */
import type { IHasher } from 'hash-wasm';

export class HashingChunker {
  private buf: Uint8Array;
  private fill = 0;
  private remaining: number;

  /**
   * @param expectedBytes when known, the last chunk is sized to fit exactly and is emitted as soon
   *   as it is full; otherwise `finish()` emits the partial last chunk.
   */
  constructor(
    private readonly hasher: IHasher,
    chunkBytes: number,
    private readonly onChunk: (chunk: Uint8Array, hashState: Uint8Array) => Promise<void>,
    expectedBytes = Infinity,
  ) {
    this.remaining = expectedBytes;
    this.buf = new Uint8Array(Math.max(0, Math.min(chunkBytes, expectedBytes)));
  }

  async push(piece: Uint8Array): Promise<void> {
    if (piece.byteLength > this.remaining - this.fill) throw new RangeError(`more bytes than the ${this.remaining - this.fill} still expected`);
    let at = 0;
    while (at < piece.byteLength) {
      const n = Math.min(piece.byteLength - at, this.buf.byteLength - this.fill);
      const slice = piece.subarray(at, at + n);
      this.hasher.update(slice);
      this.buf.set(slice, this.fill);
      this.fill += n;
      at += n;
      if (this.fill === this.buf.byteLength) await this.emit();
    }
  }

  /** Emits what is buffered (the last, shorter chunk of a stream of unknown length). */
  async finish(): Promise<void> {
    if (this.fill > 0) await this.emit();
  }

  private async emit(): Promise<void> {
    await this.onChunk(this.buf.subarray(0, this.fill), this.hasher.save());
    this.remaining -= this.fill;
    this.fill = 0;
    if (this.remaining < this.buf.byteLength) this.buf = new Uint8Array(Math.max(0, this.remaining));
  }
}
