/**
 * The models the app knows, as data (web-llm's config habit). Downloads of the real models arrive
 * with the model-pack and weight-store work; until then they are listed but not loadable.
 */
import type { Variant } from '../protocol.js';

export interface ModelEntry {
  id: string;
  name: string;
  /** Shown next to the name in the picker. */
  label: string;
  description: string;
  /** Folder of the model, relative to the app (or absolute); null: not downloadable yet. */
  path: string | null;
  /** Why the entry cannot be loaded now (shown in the picker), when path is null. */
  unavailableReason?: string;
  variants: Variant[];
  recommended: { steps: number; guidance: number; width: number; height: number; source: string };
  /** Practical image-side range in pixels (the position table allows more). */
  sideRange: { min: number; max: number };
  requires: { webgpu: boolean; note?: string };
  approxDownloadBytes?: number;
  /** false: loadable by id (tests, embedding) but not shown in the picker. */
  listed?: boolean;
  /** `mustAccept`: shown, and accepted once, before the first download (Stability's licence). */
  license: { name: string; url: string; mustAccept?: boolean };
}

const STABILITY_LICENSE = { name: 'Stability AI Community License', url: 'https://stability.ai/community-license-agreement', mustAccept: true };
/**
 * Estimated q4 pack sizes (contract §6: 4-bit weights with block-32 scales, CLIP-L ≈ 0.08 GB,
 * CLIP-G ≈ 0.45 GB, T5-XXL ≈ 2.65 GB, VAE decoder ≈ 0.1 GB; Medium transformer ≈ 1.3 GB,
 * Large ≈ 4.4 GB). Real packs state exact sizes in pack.json; these only inform the picker.
 */
const GB = 1e9;
const NOT_YET = 'Browser weights for this model are not published yet: downloads arrive in a later release.';

export const MODEL_REGISTRY: readonly ModelEntry[] = [
  {
    id: 'sd35-medium',
    name: 'SD 3.5 Medium',
    label: 'stabilityai/stable-diffusion-3.5-medium',
    description: '2.5B-parameter MMDiT-X. Best quality of the models that fit a laptop GPU.',
    path: null,
    unavailableReason: NOT_YET,
    variants: ['q4f16', 'q4'],
    recommended: { steps: 40, guidance: 4.5, width: 1024, height: 1024, source: 'model card (40 steps, guidance 4.5)' },
    sideRange: { min: 512, max: 1440 },
    requires: { webgpu: false, note: 'Runs on WASM too, very slowly.' },
    approxDownloadBytes: 4.6 * GB,
    license: STABILITY_LICENSE,
  },
  {
    id: 'sd35-medium-turbo',
    name: 'SD 3.5 Medium Turbo',
    label: 'tensorart/stable-diffusion-3.5-medium-turbo',
    description: 'Distilled Medium: about 8 steps with low guidance.',
    path: null,
    unavailableReason: NOT_YET,
    variants: ['q4f16', 'q4'],
    recommended: { steps: 8, guidance: 1.5, width: 1024, height: 1024, source: 'third-party registries (unconfirmed by the card): 8 steps, guidance 1.5' },
    sideRange: { min: 512, max: 1440 },
    requires: { webgpu: false },
    approxDownloadBytes: 4.6 * GB,
    license: STABILITY_LICENSE,
  },
  {
    id: 'sd35-large-turbo',
    name: 'SD 3.5 Large Turbo',
    label: 'stabilityai/stable-diffusion-3.5-large-turbo',
    description: '8.1B-parameter distilled Large: 4 steps, no guidance. Needs a GPU with about 8 GB free.',
    path: null,
    unavailableReason: NOT_YET,
    variants: ['q4f16', 'q4'],
    recommended: { steps: 4, guidance: 0, width: 1024, height: 1024, source: 'Stability AI space: 4 steps, guidance 0' },
    sideRange: { min: 512, max: 1440 },
    requires: { webgpu: true, note: 'Too large for the 4 GiB WebAssembly heap.' },
    approxDownloadBytes: 7.7 * GB,
    license: STABILITY_LICENSE,
  },
  {
    id: 'tiny-sd3',
    name: 'Demo',
    label: 'test model: random weights, abstract output',
    description: 'A tiny random-weight model with the exact SD 3.5 interface. It makes abstract patterns, not pictures; it proves the whole pipeline runs on this device.',
    path: 'models/tiny-sd3/',
    variants: ['fp32'],
    recommended: { steps: 8, guidance: 4.5, width: 256, height: 256, source: 'chosen for a fast demo' },
    sideRange: { min: 64, max: 768 },
    requires: { webgpu: false },
    license: { name: 'Apache-2.0 (generated fixture)', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
  },
  {
    id: 'tiny-sd3-q4',
    name: 'Demo, 4-bit',
    label: 'test model converted by our converter',
    description: 'The demo model turned into a browser pack by the converter (npm run convert): 4-bit MatMulNBits weights, q4f16 where the GPU has shader-f16, q4 elsewhere. Abstract output, like the demo.',
    path: 'models/tiny-sd3-q4/',
    variants: ['q4f16', 'q4'],
    recommended: { steps: 8, guidance: 4.5, width: 256, height: 256, source: 'chosen for a fast demo' },
    sideRange: { min: 64, max: 768 },
    requires: { webgpu: false },
    listed: true,
    license: { name: 'Apache-2.0 (generated fixture)', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
  },
  {
    id: 'tiny-sd3-no-t5',
    name: 'Demo without T5',
    label: 'test model: random weights, no T5 encoder',
    description: 'The demo model packed without its T5 encoder: the pipeline feeds zeros in its place, as diffusers does.',
    path: 'models/tiny-sd3-no-t5/',
    variants: ['fp32'],
    recommended: { steps: 8, guidance: 4.5, width: 256, height: 256, source: 'chosen for a fast demo' },
    sideRange: { min: 64, max: 768 },
    requires: { webgpu: false },
    listed: false,
    license: { name: 'Apache-2.0 (generated fixture)', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
  },
  {
    id: 'medium-slice',
    name: 'Medium slice (benchmark)',
    label: 'benchmark model: SD 3.5 Medium widths, a few blocks, random weights',
    description: 'SD 3.5 Medium transformer blocks at their real width (src/fixtures/medium-slice.ts), 4-bit, with tiny text encoders and VAE: one block costs what a Medium block costs.',
    path: null,
    unavailableReason: 'Made by `npm run bench` under .fixtures/ and loaded by the benchmark page from its own server.',
    variants: ['q4'],
    recommended: { steps: 28, guidance: 4.5, width: 512, height: 512, source: 'diffusers pipeline defaults (28 steps)' },
    sideRange: { min: 256, max: 768 },
    requires: { webgpu: false },
    listed: false,
    license: { name: 'Apache-2.0 (generated fixture)', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
  },
];

export const DEFAULT_MODEL_ID = 'tiny-sd3';

export function findModel(id: string): ModelEntry | undefined {
  return MODEL_REGISTRY.find((m) => m.id === id);
}
