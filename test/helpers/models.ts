import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared checkpoints; D2O_MODELS_DIR overrides the default `../shared/models`. */
export const modelsDir = resolve(root, process.env.D2O_MODELS_DIR ?? '../shared/models');

export const stories260K = {
  bin: resolve(modelsDir, 'stories260K/stories260K.bin'),
  tokenizer: resolve(modelsDir, 'stories260K/tok512.bin'),
  dir: resolve(modelsDir, 'stories260K'),
};
export const tinystories656k = {
  dir: resolve(modelsDir, 'tinystories-656k'),
  gguf: resolve(modelsDir, 'tinystories-656k/tinystories-656k-q8_0.gguf'),
};

export interface Golden {
  model: string;
  tokenizer: string;
  prompt_ids: number[];
  greedy_ids: number[];
  text: string;
}
export const golden: Record<'stories260K' | 'tinystories-656k', Golden> = JSON.parse(
  readFileSync(resolve(modelsDir, 'golden.json'), 'utf8'),
);
