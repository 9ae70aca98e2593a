/** The model's weights dequantized to float32 for the CPU reference. */
import { dequantize } from '../model/dtypes';
import { ModelFormatError } from '../errors';
import { hasQkvBias, tensorNames, type ModelConfig, type ModelDescription } from '../model/types';

export interface CpuLayerWeights {
  attnNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  mlpNorm: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
  /** q/k/v biases (Qwen2), else null. */
  qkvBias: { q: Float32Array; k: Float32Array; v: Float32Array } | null;
}

export interface CpuWeights {
  config: ModelConfig;
  embed: Float32Array;
  layers: CpuLayerWeights[];
  finalNorm: Float32Array;
  lmHead: Float32Array;
}

export function cpuWeights(model: ModelDescription): CpuWeights {
  const cache = new Map<string, Float32Array>();
  const get = (name: string): Float32Array => {
    const t = model.tensors.get(name);
    if (!t) throw new ModelFormatError('missing-tensor', `tensor ${name} is missing`);
    // Tied embeddings share one Tensor object: dequantize it once.
    let f = cache.get(t.name);
    if (!f) cache.set(t.name, (f = dequantize(t)));
    return f;
  };
  const { config } = model;
  return {
    config,
    embed: get(tensorNames.embed),
    layers: Array.from({ length: config.numLayers }, (_, i) => {
      const n = tensorNames.layer(i);
      return {
        attnNorm: get(n.attnNorm),
        q: get(n.q),
        k: get(n.k),
        v: get(n.v),
        o: get(n.o),
        mlpNorm: get(n.mlpNorm),
        gate: get(n.gate),
        up: get(n.up),
        down: get(n.down),
        qkvBias: hasQkvBias(config) ? { q: get(n.qBias), k: get(n.kBias), v: get(n.vBias) } : null,
      };
    }),
    finalNorm: get(tensorNames.finalNorm),
    lmHead: get(tensorNames.lmHead),
  };
}
