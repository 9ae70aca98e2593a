/**
 * Writes a quantized GGUF of any model the runtime loads, with llama.cpp's tensor types for the preset
 * (src/model/gguf-quantize.ts) and its tokenizer and chat template in the GGUF metadata (a self-contained
 * file, as downloaded ones are), with its generation_config.json beside it, into a folder the demo lists:
 *
 *   npm run quantize                                   # TinyStories-656K as Q4_K_M into models-local/
 *   npm run quantize -- <model folder or file> [Q4_K_M|Q5_K_M|Q6_K|Q8_0] [output folder]
 *
 * models-local/ (git-ignored; D2O_LOCAL_MODELS_DIR overrides) is served by the demo beside the shared
 * models: pick "<name>-q4_k_m" in its local models list.
 */
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadModel } from '../src/model/load';
import { quantizedGguf, type QuantPreset } from '../src/model/gguf-quantize';

const root = resolve(import.meta.dirname, '..');
const [input = resolve(root, process.env.D2O_MODELS_DIR ?? '../shared/models', 'tinystories-656k'), preset = 'Q4_K_M', outArg] = process.argv.slice(2);
const PRESETS: QuantPreset[] = ['Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q8_0'];
if (!PRESETS.includes(preset as QuantPreset)) throw new Error(`preset ${preset} is not one of ${PRESETS.join(', ')}`);

const model = await loadModel(input);
const { bytes, types } = quantizedGguf(model, preset as QuantPreset);
const name = `${basename(input).replace(/\.(gguf|bin)$/i, '')}-${preset.toLowerCase()}`;
const out = resolve(outArg ?? join(process.env.D2O_LOCAL_MODELS_DIR ?? join(root, 'models-local'), name));
mkdirSync(out, { recursive: true });
writeFileSync(join(out, `${name}.gguf`), bytes);
const from = statSync(input).isDirectory() ? input : dirname(input);
// Sampling defaults have no place in GGUF metadata: the loader reads them beside the file.
for (const f of ['generation_config.json'])
  if (existsSync(join(from, f))) copyFileSync(join(from, f), join(out, f));

const counts = new Map<string, number>();
for (const t of types.values()) counts.set(t, (counts.get(t) ?? 0) + 1);
console.log(`${join(out, `${name}.gguf`)}: ${(bytes.byteLength / 1e6).toFixed(2)} MB, tensors ${[...counts].map(([t, n]) => `${n} ${t.toUpperCase()}`).join(', ')}`);
