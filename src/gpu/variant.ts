/** Which implementation of a kernel family to use on an adapter. */
export type KernelVariant = 'simple' | 'tiled';

export interface AdapterTraits {
  isFallback: boolean;
}

/** Barriers and workgroup memory cost 10-30x on software adapters; real GPUs need them to be fast. */
export function chooseVariant(info: AdapterTraits): KernelVariant {
  return info.isFallback ? 'simple' : 'tiled';
}
