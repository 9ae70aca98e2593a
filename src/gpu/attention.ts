/**
 * Wrapper of shaders/attention.wgsl: GQA attention over one layer's paged cache with score
 * accumulation (entry points and the meaning of each pass are described in the WGSL file).
 *
 * Variants: `simple` (barrier-free; software adapters) and `tiled` (workgroup memory, split-K over
 * slot chunks; real GPUs). Decode (T == 1) and prefill (T > 1) take different paths, chosen in
 * `encode` from `dynamic.tokens`, which must equal the StepParams' nTokens of the step.
 */
import { deviceOf, variantOf, type GpuTarget } from './device';
import { KV_LAYOUT, kvLayout, type GpuKvCache, type SlotBuffer } from './kv-cache';
import type { KernelVariant } from './variant';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformStruct } from './uniforms';

const ATTENTION_PARAMS = uniformStruct('AttentionParams', {
  numHeads: 'u32',
  /** Mistral's sliding window, 0 for none. */
  window: 'u32',
  /** 1 / sqrt(headDim). */
  scale: 'f32',
  numChunks: 'u32',
  partialOffset: 'u32',
  /** Query heads per KV head. */
  group: 'u32',
  hd4: 'u32',
  /** Row stride of the column sums (they cover the prompt's first chunk). */
  colsumStride: 'u32',
  /** Slots per chunk of the partials (the simple decode's spans; the tiled variant's CHUNK). */
  chunkSlots: 'u32',
});
import { kvStorage } from './kv_append';

/** Slots per tiled workgroup (split-K chunk) and threads per workgroup; as in the WGSL. */
const CHUNK = 256;
const TILE = 64;
/**
 * Slots per span of the simple decode (one invocation each) and its workgroup size: long enough to
 * keep the queries' loads and the span's partial output cheap beside its keys and values, short
 * enough to leave the adapter's threads many spans at a few thousand slots.
 */
const SPAN = 32;
const SPAN_GROUP = 8;

export interface AttentionScratch {
  /**
   * [numHeads][maxSlots] decode logits, then (from `partialOffset` floats) the partials
   * [tokens][numHeads][numChunks][headDim + 2] (unnormalised output, max, sum) of chunks of
   * `chunkSlots` slots: the tiled variant's for maxTokens tokens, the simple decode's spans for one.
   * Reallocated when the cache's slot tables grow (the attention wrappers re-bind by themselves).
   */
  logits: GPUBuffer;
  /** [maxTokens][numHeads] (row max, 1 / row sum). */
  stats: GPUBuffer;
  maxTokens: number;
  /** The variant whose partials it holds ('simple' also serves a tiled kernel that falls back). */
  variant: KernelVariant;
  chunkSlots: number;
  numChunks: number;
  partialOffset: number;
  destroy(): void;
}

/**
 * Scratch for up to `maxTokens` queries per call over the cache; shared by all layers (they run one
 * after another), resized with the cache's slot tables. Sized for `variant`'s partials; a tiled
 * variant whose group does not fit workgroup memory gets the simple variant's.
 */
export function attentionScratch(device: GPUDevice, cache: GpuKvCache, numHeads: number, maxTokens: number, variant: KernelVariant): AttentionScratch {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const { numKvHeads, headDim } = cache.o;
  const tiled = variant === 'tiled' && AttentionKernel.tiledWorkgroupBytes(numHeads / numKvHeads, headDim) <= device.limits.maxComputeWorkgroupStorageSize;
  const chunkSlots = tiled ? CHUNK : SPAN;
  const layout = () => {
    const numChunks = Math.ceil(cache.maxSlots / chunkSlots);
    const logitFloats = numHeads * cache.maxSlots;
    const partialFloats = (tiled ? maxTokens : 1) * numHeads * numChunks * (headDim + 2);
    return { numChunks, partialOffset: logitFloats, size: (logitFloats + partialFloats) * 4 };
  };
  const first = layout();
  const scratch: AttentionScratch = {
    logits: device.createBuffer({ label: 'attention scratch', size: first.size, usage }),
    stats: device.createBuffer({ label: 'attention stats', size: Math.max(16, maxTokens * numHeads * 8), usage }),
    maxTokens,
    variant: tiled ? 'tiled' : 'simple',
    chunkSlots,
    numChunks: first.numChunks,
    partialOffset: first.partialOffset,
    destroy() {
      stop();
      scratch.logits.destroy();
      scratch.stats.destroy();
    },
  };
  const stop = cache.onGrow(() => {
    const next = layout();
    if (next.size === scratch.logits.size) return;
    scratch.logits.destroy();
    scratch.logits = device.createBuffer({ label: 'attention scratch', size: next.size, usage });
    scratch.numChunks = next.numChunks;
    scratch.partialOffset = next.partialOffset;
  });
  return scratch;
}

export interface AttentionBuffers {
  /** Post-RoPE queries [T, numHeads, headDim]. */
  q: GPUBuffer;
  /** Output [T, numHeads, headDim]. */
  out: GPUBuffer;
  cache: GpuKvCache;
  layer: number;
  scratch: AttentionScratch;
  /** The shared StepParams uniform (pos0, nTokens). */
  step: GPUBuffer;
  /**
   * Per query head column sums [numHeads][stride] by slot, added to when `dynamic.colsum` is set: a
   * plain buffer (stride maxSlots) or the policy's per-slot buffer (its row stride).
   */
  colsum?: GPUBuffer | SlotBuffer;
}

export interface AttentionOptions {
  numHeads: number;
  /** Mistral's sliding window (a key at position j is visible to position p iff j > p - window), or null. */
  slidingWindow: number | null;
}

export type BoundAttention = BoundKernel & {
  /** The variant actually used (tiled falls back to simple when the group does not fit workgroup memory). */
  readonly variant: KernelVariant;
};

export class AttentionKernel {
  readonly device: GPUDevice;
  readonly variant: KernelVariant;

  /** `variant` forces one; default `variantOf(ctx)`. */
  constructor(ctx: GpuTarget, o: { variant?: KernelVariant } = {}) {
    this.device = deviceOf(ctx);
    this.variant = variantOf(ctx, o.variant);
  }

  /** Array sizes compiled into the shader: the group rounded up to a power of two, the head dim. */
  static caps(group: number, headDim: number): { groupCap: number; headDimCap: number } {
    return { groupCap: 2 ** Math.ceil(Math.log2(group)), headDimCap: headDim };
  }

  /** Workgroup memory the tiled entry point needs for a group of `group` heads of `headDim`. */
  static tiledWorkgroupBytes(group: number, headDim: number): number {
    const { groupCap, headDimCap } = AttentionKernel.caps(group, headDim);
    return (groupCap * headDimCap + groupCap * TILE + TILE + 3 * groupCap) * 4;
  }

  /**
   * Builds the uniforms and bind groups once (re-bound by itself if the cache's pools grow).
   * `encode(pass, { tokens, slots, colsum })`: tokens = the step's T; slots = an upper bound of
   * every head's numSlots (the cache's high-water mark, at most maxSlots); colsum = 1 to add to
   * the column sums (first prefill).
   */
  bind(b: AttentionBuffers, o: AttentionOptions): BoundAttention {
    const { device } = this;
    const { cache, scratch } = b;
    const { numKvHeads, headDim } = cache.o;
    const numHeads = o.numHeads;
    if (!(numHeads >= numKvHeads && numHeads % numKvHeads === 0)) throw new RangeError(`numHeads ${numHeads} is not a multiple of numKvHeads ${numKvHeads}`);
    // q, out and the pools are read as vec4 (every Llama/Mistral head dim is a multiple of 4).
    if (headDim % 4 !== 0) throw new RangeError(`GPU attention needs a head dim that is a multiple of 4 (got ${headDim})`);
    const group = numHeads / numKvHeads;
    let variant = this.variant;
    if (variant === 'tiled' && scratch.variant !== 'tiled') variant = 'simple';
    const slotBuffer = b.colsum && 'release' in b.colsum ? b.colsum : null;
    const colsumBuffer = () => (slotBuffer ? slotBuffer.buffer : ((b.colsum as GPUBuffer | undefined) ?? null));
    const colsumStride = () => (slotBuffer ? slotBuffer.rowSlots : cache.maxSlots);
    // The cache's geometry (and the scratch's) changes when its tables grow: written at each bind.
    const paramsOf = () => ({ numHeads, window: o.slidingWindow ?? 0, scale: 1 / Math.sqrt(headDim), numChunks: scratch.numChunks, partialOffset: scratch.partialOffset, group, hd4: headDim / 4, colsumStride: colsumStride(), chunkSlots: scratch.chunkSlots });
    const params = ATTENTION_PARAMS.create(device, paramsOf(), 'attention params');
    const layout = KV_LAYOUT.create(device, kvLayout(cache), 'attention kv layout');
    const writeParams = () => {
      ATTENTION_PARAMS.write(device, params, paramsOf());
      KV_LAYOUT.write(device, layout, kvLayout(cache));
    };
    const { groupCap, headDimCap } = AttentionKernel.caps(group, headDim);
    const prelude = `const GROUP: u32 = ${group}u;\nconst GROUP_CAP: u32 = ${groupCap}u;\nconst HEAD_DIM_CAP: u32 = ${headDimCap}u;\nconst HD4: u32 = ${headDim / 4}u;\nconst SPAN_GROUP: u32 = ${SPAN_GROUP}u;\n`;

    // Bindings each entry point uses (the 'auto' layout holds exactly those).
    const uses: Record<string, number[]> = {
      decode_spans: [0, 11, 1, 2, 4, 5, 6, 8],
      decode_merge: [0, 11, 3, 6, 7, 8, 9],
      decode_merge_colsum: [0, 11, 3, 6, 7, 8, 9, 10],
      prefill_flash: [0, 11, 1, 2, 3, 4, 5, 6, 9],
      accumulate_prefill: [0, 11, 1, 2, 4, 6, 7, 9],
      accumulate_prefill_colsum: [0, 11, 1, 2, 4, 6, 7, 9, 10],
      tiled_partial: [0, 11, 1, 2, 4, 5, 6, 8],
      tiled_combine: [0, 11, 1, 3, 6, 8, 9],
      tiled_combine_decode: [0, 11, 3, 6, 7, 8, 9],
      tiled_combine_decode_colsum: [0, 11, 3, 6, 7, 8, 9, 10],
    };
    const wanted = variant === 'simple'
      ? ['decode_spans', 'decode_merge', 'prefill_flash', 'accumulate_prefill']
      : ['tiled_partial', 'tiled_combine', 'tiled_combine_decode', 'accumulate_prefill'];
    if (b.colsum) wanted.push(variant === 'simple' ? 'decode_merge_colsum' : 'tiled_combine_decode_colsum', 'accumulate_prefill_colsum');
    const storage = kvStorage(cache, 'attention', [ATTENTION_PARAMS], prelude);
    const pipelines = new Map(wanted.map((e) => [e, computePipeline(device, storage.shaders, e, storage.prelude)]));
    let groups = new Map<string, GPUBindGroup>();
    let version = -1;
    const rebind = () => {
      writeParams();
      const L = cache.layers[b.layer];
      const all: Record<number, GPUBuffer> = { 11: layout, 0: params, 1: b.step, 2: b.q, 3: b.out, 4: L.k, 5: L.v, 6: L.index, 7: L.score, 8: scratch.logits, 9: scratch.stats };
      const colsum = colsumBuffer();
      if (colsum) all[10] = colsum;
      groups = new Map(wanted.filter((e) => colsum || !uses[e].includes(10)).map((e) => [e, bindGroup(device, pipelines.get(e)!, Object.fromEntries(uses[e].map((i) => [i, all[i]])), `attention ${e} ${b.layer}`)]));
      version = cache.version;
    };
    rebind();

    return {
      variant,
      encode(pass, dynamic = {}) {
        if (version !== cache.version) rebind();
        const T = Math.max(1, dynamic.tokens ?? 1);
        if (T > scratch.maxTokens) throw new RangeError(`attention over ${T} tokens needs a scratch for at least that many (it has ${scratch.maxTokens})`);
        const slots = Math.max(1, Math.min(dynamic.slots ?? cache.maxSlots, cache.maxSlots));
        const colsum = !!(b.colsum && dynamic.colsum);
        const run = (entry: string, x: number, y = 1, z = 1) => {
          pass.setPipeline(pipelines.get(entry)!);
          pass.setBindGroup(0, groups.get(entry)!);
          pass.dispatchWorkgroups(x, y, z);
        };
        const slotGroups = Math.ceil(slots / 64);
        const withColsum = colsum ? '_colsum' : '';
        // Decode: two dispatches (the chunk partials, then their merge and the scores).
        if (variant === 'simple') {
          if (T === 1) {
            run('decode_spans', Math.ceil(slots / scratch.chunkSlots / SPAN_GROUP), numKvHeads);
            run(`decode_merge${withColsum}`, Math.ceil(headDim / 4 / 64), numKvHeads);
            return;
          }
          run('prefill_flash', Math.ceil((T * group) / 64), numKvHeads);
        } else {
          run('tiled_partial', Math.ceil(slots / CHUNK), numKvHeads, T);
          if (T === 1) {
            run(`tiled_combine_decode${withColsum}`, numKvHeads);
            return;
          }
          run('tiled_combine', numKvHeads, T);
        }
        run(`accumulate_prefill${withColsum}`, slotGroups, numKvHeads);
      },
      destroy() {
        params.destroy();
        layout.destroy();
      },
    };
  }
}
