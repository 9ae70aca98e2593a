/** Every loader ends here: each tensor the forward pass needs exists with the shape the config implies. */
import { ModelFormatError } from '../errors';
import { tensorNames, type ModelConfig, type Tensor } from './types';

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
  }
  return m;
}

export function checkTensors(c: ModelConfig, tensors: Map<string, Tensor>, file?: string): void {
  for (const [name, shape] of expectedShapes(c)) {
    const t = tensors.get(name);
    if (!t) throw new ModelFormatError('missing-tensor', `tensor ${name} is missing`, file);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw new ModelFormatError('size-mismatch', `tensor ${name} has shape ${JSON.stringify(t.shape)}, the config implies ${JSON.stringify(shape)}`, file);
  }
}
