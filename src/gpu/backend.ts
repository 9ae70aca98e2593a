/** The WebGPU backend: chunked prefill, one command buffer and one 4-byte readback per decoded token. */
import type { Backend, ChunkCallback } from '../backend/backend';
import type { ResolvedSampling } from '../backend/sampling';
import type { ModelDescription } from '../model/types';
import { fullCacheBytes, kvMapLayer, layerStats, type KvMap, type KvStats } from '../kv/stats';
import { ContextOverflowError, DeviceLostError, throwIfAborted } from '../errors';
import { acquireDevice, type GpuContext } from './device';
import { GpuForward, type GpuForwardOptions } from './forward';
import { SampleKernel } from './sample';
import type { BoundKernel } from './pipelines';
import { readBuffer } from './buffers';
import { negLogSoftmaxAt } from '../math/log-softmax';
import { GpuKvCache } from './kv-cache';
import { planChunks } from '../kv/chunks';

export interface WebGpuBackendOptions extends GpuForwardOptions {
  ctx?: GpuContext;
}

/** What a call of the backend does around its forward passes (`run`). */
interface RunHooks {
  signal?: AbortSignal;
  /** The sampling step and seed the passes' StepParams carry (default 0). */
  step?: number;
  seed?: number;
  /** Logits of every token of a pass, not only the last one's. */
  allLogits?: boolean;
  /** Encodes what follows the forward pass of ids [start, start + n) and ends the pass. */
  encode(enc: GPUCommandEncoder, pass: GPUComputePassEncoder, start: number, n: number): void | Promise<void>;
  /** Runs once that pass is submitted. */
  submitted?(start: number, n: number): Promise<void>;
  /** After each chunk of src/kv/chunks.ts's plan, with the ids done so far. */
  onChunk?: ChunkCallback;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly context: number[] = [];
  readonly forward: GpuForward;
  private readonly sampler: SampleKernel;
  private readonly sample: BoundKernel;
  private readonly readback: GPUBuffer;
  private lost: DeviceLostError | null = null;
  private lastSampling = '';
  private promptLength = 0;
  /** Length of the prompt's first chunk, over which the column sums were gathered. */
  private colsumLength = 0;
  /** Ids appended since the policy last compressed. */
  private uncompressed = 0;

  static async create(model: ModelDescription, o: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    return new WebGpuBackend(o.ctx ?? (await acquireDevice()), model, o);
  }

  private constructor(
    readonly ctx: GpuContext,
    model: ModelDescription,
    o: WebGpuBackendOptions,
  ) {
    this.forward = new GpuForward(ctx, model, o);
    const { device } = ctx;
    this.sampler = new SampleKernel(device, model.config.vocabSize);
    this.sample = this.sampler.bind({ logits: this.forward.logits, ids: this.forward.ids, step: this.forward.step.buffer });
    this.readback = device.createBuffer({ label: 'sampled id', size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    void ctx.lost.then((e) => (this.lost = e));
  }

  get config() {
    return this.forward.model.config;
  }

  get maxContext(): number {
    return this.forward.policy ? Infinity : this.forward.kv.capacity;
  }

  get prefillChunk(): number {
    return this.forward.prefillChunk;
  }

  /** Throws before anything is written when `tokens` more would pass the full cache's context. */
  private checkRoom(tokens: number): void {
    if (this.lost) throw this.lost;
    const capacity = this.forward.kv.capacity;
    if (!this.forward.policy && this.context.length + tokens > capacity)
      throw new ContextOverflowError(`${this.context.length + tokens} tokens exceed the model's context of ${capacity} (a compressing policy takes any length)`, this.context.length + tokens, capacity);
  }

  /**
   * Runs `ids` in chunks (src/kv/chunks.ts), each in forward passes of at most `maxChunk` tokens,
   * the policy compressing after every chunk but the prompt's last. `o.encode` encodes what follows a
   * forward pass (it ends the pass), `o.submitted` runs once it is submitted. A pass the device has no
   * memory for throws ContextOverflowError before it writes anything (earlier chunks stay).
   */
  private async run(ids: number[], o: RunHooks): Promise<void> {
    const { device } = this.ctx;
    const f = this.forward;
    const policy = f.policy;
    this.checkRoom(ids.length);
    if (this.context.length === 0) this.promptLength = ids.length;
    for (const chunk of planChunks(ids.length, this.context.length, f.prefillChunk, policy ? this.uncompressed : 0)) {
      if (chunk.colsum) this.colsumLength = chunk.end - chunk.start;
      // Budgets come from the prompt's first chunk: once it is in, they are set before the
      // forward pass (one readback); the first chunk itself sets them after its pass.
      const compress = chunk.compress && !!policy;
      if (compress && !policy.budgets && !chunk.colsum) await this.setBudgets(false);
      for (let i = chunk.start; i < chunk.end; i += f.maxChunk) {
        throwIfAborted(o.signal);
        const part = ids.slice(i, Math.min(i + f.maxChunk, chunk.end));
        await f.reserve(part.length);
        if (this.lost) throw this.lost;
        const last = i + part.length === chunk.end;
        device.queue.writeBuffer(f.ids, 0, Uint32Array.from(part));
        this.sampler.writeRecent(this.context.length, part);
        f.prepare(this.context.length, part.length, o.step ?? 0, o.seed ?? 0);
        this.context.push(...part);
        this.uncompressed += part.length;
        policy?.appended(part.length);
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        const compressNow = last && compress && !!policy.budgets;
        // Only the call's last pass has its logits read (sampled, or the single token of nll), unless all are wanted.
        const logits = !!o.allLogits || i + part.length === ids.length;
        f.encode(pass, part.length, { colsum: chunk.colsum, compress: compressNow, allLogits: o.allLogits, logits });
        if (compressNow) this.compressed();
        await o.encode(enc, pass, i, part.length);
        device.queue.submit([enc.finish()]);
        await o.submitted?.(i, part.length);
      }
      if (compress && !policy.budgets) {
        await this.setBudgets(true);
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        f.encodeCompress(pass);
        pass.end();
        device.queue.submit([enc.finish()]);
        this.compressed();
      }
      await o.onChunk?.(chunk.end);
    }
  }

  /**
   * Budgets from the first chunk's column sums. When more chunks of the prompt follow, each layer
   * is grown to its budget plus a chunk at once, so KV memory is constant from the first
   * compression on; otherwise the cache grows on demand (up to the same caps).
   */
  private async setBudgets(chunksFollow: boolean): Promise<void> {
    const f = this.forward;
    await f.policy!.setBudgets(this.promptLength + 1, this.colsumLength);
    if (chunksFollow) await f.kv.ensure(f.policy!.layerLimits().map((n, l) => (Number.isFinite(n) ? n : f.kv.layerHighWater(l))));
  }

  private compressed(): void {
    this.forward.policy!.compressed();
    this.uncompressed = 0;
  }

  /** Cuts the context back to `length` ids: only the full cache holds its tokens exactly (false otherwise, nothing changed). */
  truncate(length: number): boolean {
    if (this.forward.policy || length > this.context.length) return false;
    if (this.lost) throw this.lost;
    this.forward.kv.truncate(length);
    this.context.length = length;
    this.sampler.clearRecent();
    this.sampler.writeRecent(0, this.context);
    return true;
  }

  async append(ids: number[], sampling: ResolvedSampling, step: number, signal?: AbortSignal, onChunk?: ChunkCallback): Promise<number> {
    if (ids.length === 0) throw new RangeError('append needs at least one id');
    const key = JSON.stringify(sampling);
    if (key !== this.lastSampling) this.sampler.setSampling(sampling);
    this.lastSampling = key;
    let id = -1;
    const last = (start: number, n: number) => start + n === ids.length;
    await this.run(ids, {
      signal,
      step,
      seed: sampling.seed,
      onChunk,
      encode: (enc, pass, start, n) => {
        if (last(start, n)) this.sample.encode(pass);
        pass.end();
        if (last(start, n)) enc.copyBufferToBuffer(this.forward.ids, 0, this.readback, 0, 4);
      },
      submitted: async (start, n) => {
        if (!last(start, n)) return;
        await this.readback.mapAsync(GPUMapMode.READ).catch((e) => {
          throw this.lost ?? new DeviceLostError(`reading the sampled token failed: ${(e as Error).message}`);
        });
        id = new Uint32Array(this.readback.getMappedRange())[0];
        this.readback.unmap();
      },
    });
    return id;
  }

  async nll(ids: number[], signal?: AbortSignal, promptTokens = 1): Promise<Float64Array> {
    const { device } = this.ctx;
    const vocab = this.config.vocabSize;
    const out = new Float64Array(Math.max(0, ids.length - 1));
    const staging = device.createBuffer({ size: this.forward.logitsAll.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    // With a policy each token after the prompt is its own step, exactly as in generation; the
    // full cache prefills everything in chunks.
    const p = Math.max(1, promptTokens);
    const groups = this.forward.policy ? [ids.slice(0, p), ...ids.slice(p).map((id) => [id])] : [ids];
    let offset = 0;
    try {
      for (const group of groups) {
        const all = group.length > 1;
        await this.run(group, {
          signal,
          allLogits: all,
          encode: (enc, pass, _, n) => {
            pass.end();
            enc.copyBufferToBuffer(all ? this.forward.logitsAll : this.forward.logits, 0, staging, 0, n * vocab * 4);
          },
          submitted: async (start, n) => {
            await staging.mapAsync(GPUMapMode.READ, 0, n * vocab * 4);
            const logits = new Float32Array(staging.getMappedRange(0, n * vocab * 4));
            for (let t = 0; t < n; t++) {
              const i = offset + start + t;
              if (i + 1 < ids.length) out[i] = negLogSoftmaxAt(logits.subarray(t * vocab, (t + 1) * vocab), ids[i + 1]);
            }
            staging.unmap();
          },
        });
        offset += group.length;
      }
    } finally {
      staging.destroy();
    }
    return out;
  }

  async kvStats(): Promise<KvStats> {
    const { device } = this.ctx;
    const f = this.forward;
    const c = this.config;
    const state = f.policy ? await f.policy.readState() : null;
    const layers = await Promise.all(
      f.kv.layers.map(async (layer, l) => {
        const meta = new Uint32Array(await readBuffer(device, layer.index, c.numKvHeads * 8));
        let live = 0;
        for (let h = 0; h < c.numKvHeads; h++) live += meta[2 * h] - meta[2 * h + 1];
        return layerStats(f.policy?.budgets?.[l], live / c.numKvHeads, state?.[l]);
      }),
    );
    return {
      policy: f.policy?.p.policy ?? 'full',
      layers,
      kvHeads: c.numKvHeads,
      bytesAllocated: f.kv.bytes(),
      bytesFull: fullCacheBytes(c, this.context.length),
      bytesFullAllocated: GpuKvCache.allocatedBytesFor(f.fullKvOptions, this.context.length),
      sequenceLength: this.context.length,
    };
  }

  async kvMap(): Promise<KvMap> {
    const { device } = this.ctx;
    const f = this.forward;
    const { numKvHeads } = this.config;
    const n = f.kv.maxSlots;
    const layers = await Promise.all(
      f.kv.layers.map(async (layer, l) => {
        const pos = new Int32Array(await readBuffer(device, layer.index, numKvHeads * n * 4, f.kv.slotPosOffset * 4));
        const absorbed = f.policy ? new Uint32Array(await readBuffer(device, f.policy.buffers[l].absorbed.buffer!)) : new Uint32Array(numKvHeads * n);
        return kvMapLayer(Array.from({ length: numKvHeads }, (_, h) => ({ pos: pos.subarray(h * n, (h + 1) * n), absorbed: absorbed.subarray(h * n, (h + 1) * n) })));
      }),
    );
    return { sequenceLength: this.context.length, kvHeads: numKvHeads, layers };
  }

  reset(): void {
    this.context.length = 0;
    this.promptLength = 0;
    this.colsumLength = 0;
    this.uncompressed = 0;
    this.forward.kv.reset();
    this.forward.policy?.reset();
    this.sampler.clearRecent();
  }

  dispose(): void {
    this.forward.destroy();
    this.sample.destroy();
    this.sampler.destroy();
    this.readback.destroy();
  }
}
