/**
 * Every loader ends here: each tensor the forward pass needs exists with the shape the config
 * implies, and no other tensor is present. A tensor the architecture does not use means the file
 * is another model than its config says (a Qwen2 file labelled Llama would run with its biases
 * dropped), so it is refused by name rather than ignored.
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import { checkFinite } from './check-finite';
import { hasQkvBias, tensorNames, type ModelConfig, type Tensor } from './types';

/** Tensors some checkpoints carry that change nothing: Transformers' cached RoPE frequencies. */
const HARMLESS = [/^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/];

export function expectedShapes(c: ModelConfig): Map<string, number[]> {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const m = new Map<string, number[]>([
    [tensorNames.embed, [c.vocabSize, c.hiddenSize]],
    [tensorNames.finalNorm, [c.hiddenSize]],
    [tensorNames.lmHead, [c.vocabSize, c.hiddenSize]],
  ]);
  for (let i = 0; i < c.numLayers; i++) {
    const n = tensorNames.layer(i);
    m.set(n.attnNorm, [c.hiddenSize]);
    m.set(n.q, [q, c.hiddenSize]);
    m.set(n.k, [kv, c.hiddenSize]);
    m.set(n.v, [kv, c.hiddenSize]);
    m.set(n.o, [c.hiddenSize, q]);
    m.set(n.mlpNorm, [c.hiddenSize]);
    m.set(n.gate, [c.intermediateSize, c.hiddenSize]);
    m.set(n.up, [c.intermediateSize, c.hiddenSize]);
    m.set(n.down, [c.hiddenSize, c.intermediateSize]);
    if (hasQkvBias(c)) {
      m.set(n.qBias, [q]);
      m.set(n.kBias, [kv]);
      m.set(n.vBias, [kv]);
    }
  }
  return m;
}

/** How many layers the tensors hold: one past the highest layer index in their names. */
function layersInFile(tensors: Map<string, Tensor>): number {
  let n = 0;
  for (const name of tensors.keys()) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

export function checkTensors(c: ModelConfig, tensors: Map<string, Tensor>, file?: string): void {
  // First, and from the file: a layer count that disagrees would drop layers silently, or (a
  // corrupt huge count) build a list of expected tensors out of all proportion to the file.
  const layers = layersInFile(tensors);
  if (layers !== c.numLayers) throw new ModelFormatError('size-mismatch', `the config says ${c.numLayers} layers, the tensors hold ${layers}`, file);
  const expected = expectedShapes(c);
  const unused = [...tensors.keys()].filter((name) => !expected.has(name) && !HARMLESS.some((h) => h.test(name)));
  if (unused.length) {
    const list = unused.length > 6 ? `${unused.slice(0, 6).join(', ')} and ${unused.length - 6} more` : unused.join(', ');
    throw new UnsupportedModelError(`${file ? `${file}: ` : ''}the ${c.architecture} architecture does not use tensor${unused.length > 1 ? 's' : ''} ${list}; the file holds another kind of model than its config says`);
  }
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) throw new ModelFormatError('missing-tensor', `tensor ${name} is missing`, file);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw new ModelFormatError('size-mismatch', `tensor ${name} has shape ${JSON.stringify(t.shape)}, the config implies ${JSON.stringify(shape)}`, file);
  }
  checkFinite(tensors, file);
}
