/**
 * The "parameters" text chunk of a PNG: written into the PNG a canvas gives, read back from any PNG
 * (ours, A1111's, …). The chunk framing and CRCs come from png-chunks-encode / png-chunks-extract;
 * the tEXt payload from png-chunk-text. Text that is not Latin-1 goes into an iTXt chunk (UTF-8),
 * as Pillow (and so A1111) does. No DOM: Blob and Uint8Array only, so it runs in tests too.
 */
import encodeChunks from 'png-chunks-encode';
import extractChunks from 'png-chunks-extract';
import * as pngText from 'png-chunk-text';

export const PARAMETERS_KEY = 'parameters';
const SIGNATURE_BYTES = 8;
/** Signature + the IHDR chunk (4 length + 4 type + 13 data + 4 CRC): where our chunk goes. */
const AFTER_IHDR = SIGNATURE_BYTES + 25;

const isLatin1 = (s: string) => /^[\x01-\xff]+$/.test(s);

/** An iTXt chunk payload: keyword, no compression, no language, no translated keyword, UTF-8 text. */
function itxtData(keyword: string, text: string): Uint8Array {
  const key = new TextEncoder().encode(keyword);
  const body = new TextEncoder().encode(text);
  const out = new Uint8Array(key.length + 5 + body.length);
  out.set(key, 0);
  // key \0, compression flag 0, method 0, language '' \0, translated keyword '' \0
  out.set(body, key.length + 5);
  return out;
}

/** The bytes of one complete chunk (length, type, data, CRC) holding `text` under `keyword`. */
export function textChunk(keyword: string, text: string): Uint8Array {
  const chunk = isLatin1(text) ? pngText.encode(keyword, text) : { name: 'iTXt', data: itxtData(keyword, text) };
  return encodeChunks([chunk]).subarray(SIGNATURE_BYTES);
}

function isPng(head: Uint8Array): boolean {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return sig.every((b, i) => head[i] === b) && String.fromCharCode(...head.subarray(12, 16)) === 'IHDR';
}

/**
 * The PNG `png` with a "parameters" text chunk right after IHDR. The image data is not copied
 * (the new Blob references the old one), so this stays cheap for large images.
 */
export async function withParameters(png: Blob, text: string): Promise<Blob> {
  const head = new Uint8Array(await png.slice(0, AFTER_IHDR).arrayBuffer());
  if (!isPng(head)) throw new Error('Not a PNG file.');
  const chunk = textChunk(PARAMETERS_KEY, text);
  return new Blob([png.slice(0, AFTER_IHDR), chunk as Uint8Array<ArrayBuffer>, png.slice(AFTER_IHDR)], { type: 'image/png' });
}

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** All text chunks of a PNG (tEXt, zTXt, iTXt), keyword → text. Throws on a file that is not a PNG. */
export async function readTextChunks(bytes: Uint8Array): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const chunk of extractChunks(bytes)) {
    if (chunk.name === 'tEXt') {
      const { keyword, text } = pngText.decode(chunk.data);
      out.set(keyword, text);
    } else if (chunk.name === 'zTXt' || chunk.name === 'iTXt') {
      const d = chunk.data;
      const keyEnd = d.indexOf(0);
      if (keyEnd < 0) continue;
      const keyword = new TextDecoder('latin1').decode(d.subarray(0, keyEnd));
      if (chunk.name === 'zTXt') {
        out.set(keyword, new TextDecoder('latin1').decode(await inflate(d.subarray(keyEnd + 2))));
        continue;
      }
      const compressed = d[keyEnd + 1] === 1;
      const langEnd = d.indexOf(0, keyEnd + 3);
      const transEnd = langEnd < 0 ? -1 : d.indexOf(0, langEnd + 1);
      if (transEnd < 0) continue;
      const body = d.subarray(transEnd + 1);
      out.set(keyword, new TextDecoder().decode(compressed ? await inflate(body) : body));
    }
  }
  return out;
}

/** The "parameters" text of a PNG, or null when it has none. */
export async function readParameters(bytes: Uint8Array): Promise<string | null> {
  return (await readTextChunks(bytes)).get(PARAMETERS_KEY) ?? null;
}
