/**
 * The KV policy on the GPU: per-layer state and buffers, budgets set once from the variances of
 * the prompt's first chunk, and statistics read lazily. The rules run in shaders/kv_policy.wgsl,
 * through its wrapper ./kv_policy.ts (snake_case files here wrap a shader of the same name).
 */
import type { GpuKvCache, SlotBuffer } from './kv-cache';
import { SINKS, type ResolvedPolicy } from '../kv/policy';
import { layerBudgets, layerVarianceValue, type LayerBudget } from '../kv/budgets';
import { KvPolicyKernel, POLICY_PARAMS, type KvPolicyBuffers } from './kv_policy';
import type { BoundKernel } from './pipelines';
import { readBuffer } from './buffers';
import type { LayerCounters } from '../kv/stats';

export class GpuKvPolicy {
  readonly layers: (BoundKernel & { encodeVariance(pass: GPUComputePassEncoder): void })[];
  readonly buffers: KvPolicyBuffers[];
  budgets: LayerBudget[] | null = null;
  /** Per-head variances of the first prefill's column sums (d2o), once read. */
  variances: number[][] | null = null;
  /** An upper bound of live tokens per layer, known without a readback (for overflow checks). */
  readonly liveBound: number[];
  peak = 0;

  /**
   * `prefillChunk` bounds what one compression evicts (a chunk and the decoded token) and what the
   * column sums cover (the prompt's first chunk), which sizes the per-step buffers.
   */
  constructor(
    private readonly device: GPUDevice,
    readonly p: ResolvedPolicy,
    private readonly cache: GpuKvCache,
    private readonly numHeads: number,
    step: GPUBuffer,
    readonly prefillChunk: number,
  ) {
    const { numLayers, numKvHeads } = cache.o;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const kernel = new KvPolicyKernel(device);
    const maxVictims = (maxSlots: number) => Math.min(maxSlots, prefillChunk + SINKS + 1);
    this.buffers = Array.from({ length: numLayers }, (_, l) => ({
      policy: device.createBuffer({ size: POLICY_PARAMS.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
      victims: cache.slotBuffer({ label: `kv victims ${l}`, rows: numKvHeads, bytesPerSlot: 4, rowSlots: (m) => maxVictims(m) + 1 }),
      sims: cache.slotBuffer({ label: `kv sims ${l}`, rows: numKvHeads, bytesPerSlot: 8, rowSlots: maxVictims }),
      state: device.createBuffer({ size: 16, usage }),
      colsum: cache.slotBuffer({ label: `kv colsum ${l}`, rows: p.varianceBudgets ? numHeads : 1, bytesPerSlot: 4, rowSlots: (m) => Math.min(m, prefillChunk), keep: true }),
      variances: device.createBuffer({ size: Math.max(16, numHeads * 4), usage }),
      absorbed: cache.slotBuffer({ label: `kv absorbed ${l}`, rows: numKvHeads, bytesPerSlot: 4, keep: true }),
    }));
    this.layers = this.buffers.map((buffers, layer) => kernel.bind({ cache, layer, step, buffers }));
    this.liveBound = Array(numLayers).fill(0);
    this.reset();
  }

  get colsumBuffers(): SlotBuffer[] | null {
    return this.p.varianceBudgets ? this.buffers.map((b) => b.colsum) : null;
  }

  reset(): void {
    for (const b of this.buffers) {
      this.device.queue.writeBuffer(b.state, 0, new Uint32Array(4));
      for (const x of [b.colsum.buffer!, b.absorbed.buffer!]) this.device.queue.writeBuffer(x, 0, new Uint32Array(x.size / 4));
      this.writePolicy(b, { hh: 0, recent: 0, compress: false }, 0);
    }
    this.budgets = null;
    this.variances = null;
    this.liveBound.fill(0);
    this.cache.setLayerLimits(this.liveBound.map(() => Infinity));
  }

  /**
   * Slots per head layer `l` needs at most once budgets are set: its budget (the sinks' slack
   * included) plus one chunk and the token decoded with the prompt's last chunk; Infinity for a
   * layer that keeps everything or a one-shot prefill.
   */
  layerLimits(): number[] {
    return this.liveBound.map((_, l) => {
      const b = this.budgets?.[l];
      return b?.compress ? b.hh + b.recent + SINKS + this.prefillChunk + 1 : Infinity;
    });
  }

  private writePolicy(b: KvPolicyBuffers, budget: LayerBudget, promptLength: number): void {
    const flags = (budget.compress ? 1 : 0) | (this.p.streaming ? 2 : 0) | (this.p.merge ? 4 : 0) | (this.p.mergeDecision === 'mean' ? 8 : 0);
    POLICY_PARAMS.write(this.device, b.policy, { hh: budget.hh, recent: budget.recent, flags, numHeads: this.numHeads, alpha: this.p.alpha, beta: this.p.beta, promptLength });
  }


  /**
   * Before the first compression: variances of the prompt's first chunk (`colsumLength` keys; one
   * readback, d2o only), then budgets for every layer; `nFirst` is the prompt's length + 1.
   */
  async setBudgets(nFirst: number, colsumLength: number): Promise<void> {
    let values: number[] | null = null;
    if (this.p.varianceBudgets) {
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      this.buffers.forEach((b) => this.writePolicy(b, { hh: 0, recent: 0, compress: false }, colsumLength));
      for (const l of this.layers) l.encodeVariance(pass);
      pass.end();
      this.device.queue.submit([enc.finish()]);
      this.variances = await Promise.all(this.buffers.map(async (b) => Array.from(new Float32Array(await readBuffer(this.device, b.variances, this.numHeads * 4)))));
      values = this.variances.map(layerVarianceValue);
    }
    this.budgets = layerBudgets(this.p, this.cache.o.numLayers, nFirst, values);
    this.budgets.forEach((budget, l) => this.writePolicy(this.buffers[l], budget, colsumLength));
    // From here on each layer needs its budget plus a chunk: the cache is capped there.
    this.cache.setLayerLimits(this.layerLimits());
  }

  /**
   * Tracks live tokens per layer for overflow checks and the cache's slot high-water mark, without
   * a readback: `appended` adds a forward pass's tokens (`peak` is then the most live in any
   * layer), `compressed` caps each compressing layer at its budget.
   */
  appended(tokens: number): void {
    this.liveBound.forEach((live, l) => (this.liveBound[l] = live + tokens));
    this.peak = Math.max(...this.liveBound);
  }

  compressed(): void {
    this.liveBound.forEach((live, l) => {
      const b = this.budgets?.[l];
      if (b?.compress) this.liveBound[l] = Math.min(live, b.hh + b.recent + SINKS);
    });
  }

  /** Evictions, merges and tau per layer (one small readback each; never in the decode loop). */
  async readState(): Promise<LayerCounters[]> {
    return Promise.all(
      this.buffers.map(async (b) => {
        const raw = await readBuffer(this.device, b.state, 16);
        const u = new Uint32Array(raw);
        return { tau: u[1] ? new Float32Array(raw)[0] : null, evictions: u[2], merges: u[3] };
      }),
    );
  }

  /** Bytes of the buffers not laid out per slot (the per-slot ones count in the cache's `bytes()`). */
  bytes(): number {
    return this.buffers.reduce((s, b) => s + b.policy.size + b.state.size + b.variances.size, 0);
  }

  destroy(): void {
    for (const k of this.layers) k.destroy();
    for (const b of this.buffers) {
      for (const buf of [b.policy, b.state, b.variances]) buf.destroy();
      for (const sb of [b.victims, b.sims, b.colsum, b.absorbed]) sb.release();
    }
  }
}
