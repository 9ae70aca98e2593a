/**
 * The forward pass on the GPU, the same steps as src/cpu/forward.ts, for a chunk of T tokens at
 * once: embedding -> per layer (RMSNorm, QKV, RoPE + paged-cache append, GQA attention, output
 * projection added to the residual, RMSNorm, gate/up (+ SwiGLU in the simple decode matvec), SwiGLU, down added to the residual) ->
 * final RMSNorm -> LM head. Weights are uploaded once and every bind group is built here, once;
 * a step only writes its StepParams/RoPE table and encodes the dispatches.
 */
import type { ModelDescription } from '../model/types';
import { hasQkvBias, tensorNames } from '../model/types';
import type { GpuContext } from './device';
import { chooseVariant, type KernelVariant } from './variant';
import { uploadTensor, uploadVector, type F16Mode, type GpuTensor } from './weights';
import { StepParams } from './step-params';
import { GpuKvCache, type PagedCacheOptions } from './kv-cache';
import { EmbeddingKernel } from './embedding';
import { RmsNormKernel } from './rmsnorm';
import { MatmulKernel } from './matmul';
import { RopeTable } from './rope';
import { KvAppendKernel } from './kv_append';
import { AttentionKernel, attentionScratch, type AttentionScratch } from './attention';
import { SwigluKernel } from './swiglu';
import { concatRows, concatVectors, interleavePairs, partStarts } from './fused';
import type { BoundKernel } from './pipelines';
import { GpuKvPolicy } from './kv-policy';
import { resolvePolicy, type ResolvedPolicy } from '../kv/policy';
import type { KvDtype } from '../kv/dtype';
import { resolvePrefillChunk } from '../kv/chunks';

export interface GpuForwardOptions {
  /** Tokens per forward pass (activations are sized for it); a prefill chunk runs in passes this long. */
  maxChunk?: number;
  /** Ids per prefill chunk, each compressed after under a policy (src/kv/chunks.ts); Infinity: one-shot. Default 512. */
  prefillChunk?: number;
  /**
   * Most KV slots per head. Default: the model's context for the full cache; unbounded under a
   * policy (each layer is capped at its budget plus a chunk once the budgets are set).
   */
  kvCapacity?: number;
  /** Storage of K and V. Default 'f32'. */
  kvDtype?: KvDtype;
  /**
   * f16 K/V as native `f16` where the device has shader-f16, or packed in u32. Default: packed with
   * the simple kernels (software adapters: lavapipe's decode attention over 8,192 f16 slots measured
   * 1.3-1.8x faster packed than native), native with the tiled ones.
   */
  kvF16?: 'native' | 'packed';
  variant?: KernelVariant;
  /** Default: the full cache. */
  policy?: ResolvedPolicy;
}

/** KV slot tables and pools start this small and grow as the sequence (or the budget's peak) needs. */
const INITIAL_KV_SLOTS = 64;

/** The paged cache a configuration creates (tables and pools start small and grow). */
export function kvCacheOptions(model: ModelDescription, o: GpuForwardOptions): PagedCacheOptions {
  const c = model.config;
  const capacity = o.kvCapacity ?? ((o.policy ?? resolvePolicy()).evicts ? Infinity : c.maxPositionEmbeddings);
  return { numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim, capacity, initialSlots: Math.min(capacity, INITIAL_KV_SLOTS), dtype: o.kvDtype, f16: o.kvF16 };
}

export class GpuForward {
  readonly step: StepParams;
  readonly kv: GpuKvCache;
  /** The cache the full policy would create for this model: the statistics compare allocations with it. */
  readonly fullKvOptions: PagedCacheOptions;
  readonly ids: GPUBuffer;
  /** Logits of the last token (decode), or of every token of the chunk (`logitsAll`). */
  readonly logits: GPUBuffer;
  readonly logitsAll: GPUBuffer;
  readonly maxChunk: number;
  readonly prefillChunk: number;
  readonly variant: KernelVariant;
  /** How the products read f16 weights ('native' only on the tiled variant of a device with shader-f16). */
  readonly weightF16: F16Mode;
  readonly weightBytes: number;
  /** Bytes of the layers' projection weights, and of the LM head, as uploaded (what a decode step streams). */
  readonly layerWeightBytes: number;
  readonly headWeightBytes: number;
  /** The KV policy, or null for the full cache. */
  readonly policy: GpuKvPolicy | null;
  private readonly rope: RopeTable;
  private readonly owned: { destroy(): void }[] = [];
  private readonly body: BoundKernel[];
  private readonly headLast: BoundKernel[];
  private readonly headAll: BoundKernel[];
  private readonly scratch: AttentionScratch;

  constructor(
    readonly ctx: GpuContext,
    readonly model: ModelDescription,
    o: GpuForwardOptions = {},
  ) {
    const { device } = ctx;
    const c = model.config;
    this.maxChunk = o.maxChunk ?? 32;
    this.prefillChunk = resolvePrefillChunk(o.prefillChunk);
    this.variant = o.variant ?? chooseVariant(ctx.info);
    const T = this.maxChunk;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;

    const buf = (floats: number, label: string, extra = 0) => {
      const b = device.createBuffer({ label, size: Math.max(16, floats * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extra });
      this.owned.push(b);
      return b;
    };
    const x = buf(T * c.hiddenSize, 'x');
    const xb = buf(T * c.hiddenSize, 'xb');
    const q = buf(T * qDim, 'q');
    const k = buf(T * kvDim, 'k');
    const v = buf(T * kvDim, 'v');
    const att = buf(T * qDim, 'att');
    const gate = buf(T * c.intermediateSize, 'gate');
    const up = buf(T * c.intermediateSize, 'up');
    const xLast = buf(c.hiddenSize, 'x last');
    this.ids = buf(T, 'ids');
    this.logits = buf(c.vocabSize, 'logits');
    this.logitsAll = buf(T * c.vocabSize, 'logits all');

    this.step = new StepParams(device);
    this.rope = new RopeTable(device, c.headDim, c.rope);
    this.kv = new GpuKvCache(device, kvCacheOptions(model, { ...o, kvF16: o.kvF16 ?? (this.variant === 'simple' ? 'packed' : 'native') }));
    this.fullKvOptions = kvCacheOptions(model, { ...o, policy: resolvePolicy(), kvCapacity: undefined });
    this.scratch = attentionScratch(device, this.kv, c.numHeads, T, this.variant);
    this.owned.push(this.step, this.rope, this.kv, this.scratch);
    const policy = o.policy ?? resolvePolicy();
    this.policy = policy.evicts ? new GpuKvPolicy(device, policy, this.kv, c.numHeads, this.step.buffer, this.prefillChunk) : null;
    if (this.policy) this.owned.push(this.policy);
    const colsums = this.policy?.colsumBuffers;

    // Upload each distinct tensor once (tied embeddings share one).
    const uploaded = new Map<object, GpuTensor>();
    const matrix = (name: string) => {
      const t = model.tensors.get(name)!;
      let g = uploaded.get(t);
      if (!g) uploaded.set(t, (g = uploadTensor(device, t)));
      return g;
    };
    const vector = (name: string) => {
      const b = uploadVector(device, model.tensors.get(name)!);
      this.owned.push(b);
      return b;
    };

    const step = this.step.buffer;
    const mm = new MatmulKernel(device, { variant: this.variant });
    this.weightF16 = mm.f16;
    const norm = new RmsNormKernel(device, { variant: this.variant });
    const append = new KvAppendKernel(device);
    const attention = new AttentionKernel(device, { variant: this.variant });
    const swiglu = new SwigluKernel(device);

    // A fused weight when the parts share a format and width (GGUF files may mix formats); else one per part.
    const fused = (names: string[], label: string) => {
      const ts = names.map((name) => model.tensors.get(name)!);
      const t = concatRows(ts, label);
      if (!t) return null;
      const g = uploadTensor(device, t);
      uploaded.set(t, g);
      return { weight: g, starts: partStarts(ts) };
    };
    const product = (names: string[], ys: GPUBuffer[], label: string, biases?: string[]): BoundKernel[] => {
      const f = fused(names, label);
      const bias = (ns: string[]) => {
        const b = uploadVector(device, concatVectors(ns.map((name) => model.tensors.get(name)!), `${label} bias`));
        this.owned.push(b);
        return b;
      };
      if (f) return [mm.bind({ weight: f.weight, x: xb, y: ys[0], parts: f.starts.map((from, i) => ({ from, y: ys[i + 1] })), bias: biases && bias(biases), step })];
      return names.map((name, i) => mm.bind({ weight: matrix(name), x: xb, y: ys[i], bias: biases && bias([biases[i]]), step }));
    };

    // Gate and up interleaved in pairs: the simple matvec then applies SiLU(gate) * up itself, so a
    // decode step skips the swiglu dispatch (the tiled variant and prefill's matmul keep it).
    const mlpIn = (l: number): BoundKernel[] => {
      const n = tensorNames.layer(l);
      const t = interleavePairs(model.tensors.get(n.gate)!, model.tensors.get(n.up)!, `layer ${l} gate_up`);
      const sw = swiglu.bind({ gate, up, step }, { width: c.intermediateSize });
      if (!t) return [...product([n.gate, n.up], [gate, up], `layer ${l} gate_up`), sw];
      const weight = uploadTensor(device, t, { rowAlign: 4 });
      uploaded.set(t, weight);
      const inProduct = this.variant === 'simple';
      return [
        mm.bind({ weight, x: xb, y: gate, parts: [{ from: c.intermediateSize, y: up }], glu: true, step }),
        { encode: (pass, d) => (inProduct && d?.tokens === 1 ? undefined : sw.encode(pass, d)), destroy: () => sw.destroy() },
      ];
    };

    this.body = [new EmbeddingKernel(device).bind({ weight: matrix(tensorNames.embed), ids: this.ids, out: x, step })];
    for (let l = 0; l < c.numLayers; l++) {
      const n = tensorNames.layer(l);
      this.body.push(
        norm.bind({ x, weight: vector(n.attnNorm), out: xb, step }, { width: c.hiddenSize, eps: c.rmsNormEps }),
        ...product([n.q, n.k, n.v], [q, k, v], `layer ${l} qkv`, hasQkvBias(c) ? [n.qBias, n.kBias, n.vBias] : undefined),
        append.bind({ k, v, cache: this.kv, layer: l, step, rope: { q, table: this.rope, numHeads: c.numHeads, layout: c.rope.layout } }),
        attention.bind({ q, out: att, cache: this.kv, layer: l, scratch: this.scratch, step, colsum: colsums?.[l] }, { numHeads: c.numHeads, slidingWindow: c.slidingWindow }),
        mm.bind({ weight: matrix(n.o), x: att, y: x, step }, { accumulate: true }),
        norm.bind({ x, weight: vector(n.mlpNorm), out: xb, step }, { width: c.hiddenSize, eps: c.rmsNormEps }),
        ...mlpIn(l),
        mm.bind({ weight: matrix(n.down), x: gate, y: x, step }, { accumulate: true }),
      );
    }
    const finalNorm = vector(tensorNames.finalNorm);
    const lmHead = matrix(tensorNames.lmHead);
    this.headLast = [
      norm.bind({ x, weight: finalNorm, out: xLast, step }, { width: c.hiddenSize, eps: c.rmsNormEps, lastOnly: true }),
      mm.bind({ weight: lmHead, x: xLast, y: this.logits, step }, { fixedTokens: 1 }),
    ];
    this.headAll = [
      norm.bind({ x, weight: finalNorm, out: xb, step }, { width: c.hiddenSize, eps: c.rmsNormEps }),
      mm.bind({ weight: lmHead, x: xb, y: this.logitsAll, step }),
    ];
    for (const g of uploaded.values()) this.owned.push(g);
    this.weightBytes = [...uploaded.values()].reduce((s, g) => s + g.bytes, 0);
    this.headWeightBytes = lmHead.bytes;
    this.layerWeightBytes = [...uploaded.values()].filter((g) => g !== lmHead && g !== matrix(tensorNames.embed)).reduce((s, g) => s + g.bytes, 0);
  }

  /** Writes the step's uniforms; call before `encode`, with the ids already in `ids` (or written by the sampler). */
  prepare(pos0: number, tokens: number, step: number, seed: number): void {
    this.step.write({ pos0, nTokens: tokens, step, seed });
  }

  /**
   * Grows the cache for `tokens` more in every layer; call before `prepare`/`encode`. Throws
   * ContextOverflowError, changing nothing, when the device refuses the memory.
   */
  async reserve(tokens: number): Promise<void> {
    const held = this.policy ? this.policy.liveBound : this.kv.allocators.map((_, l) => this.kv.layerHighWater(l));
    await this.kv.ensure(held.map((n) => n + tokens));
  }

  /** Slots any layer may use now (the kernels' dispatch bound). */
  private get slots(): number {
    return Math.min(this.kv.highWater, this.kv.maxSlots);
  }

  /**
   * Encodes the forward pass of `tokens` tokens (reserved first), then the KV policy when
   * `compress`, gathering the first chunk's column sums when `colsum`; logits of the last token,
   * or of all of them, or none (`logits: false`: a pass whose logits nobody reads).
   */
  encode(pass: GPUComputePassEncoder, tokens: number, o: { allLogits?: boolean; logits?: boolean; colsum?: boolean; compress?: boolean } = {}): void {
    const dynamic = { tokens, slots: this.slots, colsum: o.colsum ? 1 : 0 };
    for (const k of this.body) k.encode(pass, dynamic);
    if (o.compress) this.encodeCompress(pass);
    if (o.logits === false) return;
    for (const k of o.allLogits ? this.headAll : this.headLast) k.encode(pass, dynamic);
  }

  /** Encodes the KV policy's compression of every layer (after the forward pass that appended). */
  encodeCompress(pass: GPUComputePassEncoder): void {
    const dynamic = { slots: this.slots };
    if (this.policy) for (const k of this.policy.layers) k.encode(pass, dynamic);
  }

  /** Dispatches per token of decoding (the per-token overhead reported by the benchmark). */
  get dispatchesPerStep(): number {
    let n = 0;
    const counter = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups: () => n++ } as unknown as GPUComputePassEncoder;
    for (const k of [...this.body, ...this.headLast]) k.encode(counter, { tokens: 1, slots: 1 });
    return n;
  }

  /** Dispatches per layer of a decode step. */
  get dispatchesPerLayer(): number {
    let n = 0;
    const counter = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups: () => n++ } as unknown as GPUComputePassEncoder;
    // body[0] is the embedding; the rest are the layers' kernels.
    for (const k of this.body.slice(1)) k.encode(counter, { tokens: 1, slots: 1 });
    return n / this.model.config.numLayers;
  }

  /** Frees everything the forward pass created: bound kernels (their uniforms), buffers, weights, cache, policy. */
  destroy(): void {
    for (const k of [...this.body, ...this.headLast, ...this.headAll]) k.destroy();
    for (const o of this.owned) o.destroy();
  }
}
