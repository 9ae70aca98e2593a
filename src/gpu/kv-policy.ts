/**
 * The KV policy on the GPU: per-layer state and buffers, budgets set once from the variances read
 * back after the first prefill, and statistics read lazily. The rules run in shaders/kv_policy.wgsl,
 * through its wrapper ./kv_policy.ts (snake_case files here wrap a shader of the same name).
 */
import type { GpuKvCache } from './kv-cache';
import { SINKS, type ResolvedPolicy } from '../kv/policy';
import { layerBudgets, layerVarianceValue, type LayerBudget } from '../kv/budgets';
import { KvPolicyKernel, type KvPolicyBuffers } from './kv_policy';
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

  constructor(
    private readonly device: GPUDevice,
    readonly p: ResolvedPolicy,
    private readonly cache: GpuKvCache,
    private readonly numHeads: number,
    step: GPUBuffer,
  ) {
    const { numLayers, numKvHeads } = cache.o;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const kernel = new KvPolicyKernel(device);
    this.buffers = Array.from({ length: numLayers }, () => ({
      policy: device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
      victims: device.createBuffer({ size: numKvHeads * (cache.maxSlots + 1) * 4, usage }),
      sims: device.createBuffer({ size: numKvHeads * cache.maxSlots * 8, usage }),
      state: device.createBuffer({ size: 16, usage }),
      colsum: device.createBuffer({ size: numHeads * cache.maxSlots * 4, usage }),
      variances: device.createBuffer({ size: Math.max(16, numHeads * 4), usage }),
      absorbed: device.createBuffer({ size: numKvHeads * cache.maxSlots * 4, usage }),
    }));
    this.layers = this.buffers.map((buffers, layer) => kernel.bind({ cache, layer, step, buffers }));
    this.liveBound = Array(numLayers).fill(0);
    this.reset();
  }

  get colsumBuffers(): GPUBuffer[] | null {
    return this.p.varianceBudgets ? this.buffers.map((b) => b.colsum) : null;
  }

  reset(): void {
    for (const b of this.buffers) {
      this.device.queue.writeBuffer(b.state, 0, new Uint32Array(4));
      this.device.queue.writeBuffer(b.colsum, 0, new Float32Array(b.colsum.size / 4));
      this.device.queue.writeBuffer(b.absorbed, 0, new Uint32Array(b.absorbed.size / 4));
      this.writePolicy(b, { hh: 0, recent: 0, compress: false }, 0);
    }
    this.budgets = null;
    this.variances = null;
    this.liveBound.fill(0);
  }

  private writePolicy(b: KvPolicyBuffers, budget: LayerBudget, promptLength: number): void {
    const raw = new ArrayBuffer(32);
    const flags = (budget.compress ? 1 : 0) | (this.p.streaming ? 2 : 0) | (this.p.merge ? 4 : 0);
    new Uint32Array(raw).set([Math.min(budget.hh, 0xffffffff), budget.recent, flags, this.numHeads, 0, 0, promptLength]);
    new Float32Array(raw).set([this.p.alpha, this.p.beta], 4);
    this.device.queue.writeBuffer(b.policy, 0, raw);
  }

  /** After the first prefill: variances (one readback, d2o only), then budgets for every layer. */
  async setBudgets(nFirst: number, promptLength: number): Promise<void> {
    let values: number[] | null = null;
    if (this.p.varianceBudgets) {
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      this.buffers.forEach((b) => this.writePolicy(b, { hh: 0, recent: 0, compress: false }, promptLength));
      for (const l of this.layers) l.encodeVariance(pass);
      pass.end();
      this.device.queue.submit([enc.finish()]);
      this.variances = await Promise.all(this.buffers.map(async (b) => Array.from(new Float32Array(await readBuffer(this.device, b.variances, this.numHeads * 4)))));
      values = this.variances.map(layerVarianceValue);
    }
    this.budgets = layerBudgets(this.p, this.cache.o.numLayers, nFirst, values);
    this.budgets.forEach((budget, l) => this.writePolicy(this.buffers[l], budget, promptLength));
  }

  /**
   * Tracks live tokens for overflow checks and the cache's slot high-water: appended tokens, then
   * at most hh + recent + sinks after compression. `peak` is the most live in any layer during the
   * call (before its compression).
   */
  appended(tokens: number, compressAfter: boolean): void {
    this.peak = 0;
    this.liveBound.forEach((live, l) => {
      const b = this.budgets?.[l];
      this.liveBound[l] = live + tokens;
      this.peak = Math.max(this.peak, this.liveBound[l]);
      if (b && compressAfter && b.compress) this.liveBound[l] = Math.min(this.liveBound[l], b.hh + b.recent + SINKS);
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

  destroy(): void {
    for (const b of this.buffers) for (const buf of Object.values(b)) buf.destroy();
  }
}
