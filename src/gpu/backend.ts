/** The WebGPU backend: chunked prefill, one command buffer and one 4-byte readback per decoded token. */
import type { Backend } from '../engine/backend';
import type { ResolvedSampling } from '../engine/sampling';
import type { ModelDescription } from '../model/types';
import { ContextOverflowError, DeviceLostError, throwIfAborted } from '../errors';
import { acquireDevice, type GpuContext } from './device';
import { GpuForward, type GpuForwardOptions } from './forward';
import { SampleKernel } from './sample';
import type { BoundKernel } from './pipelines';
import { negLogSoftmaxAt } from '../cpu/backend';

export interface WebGpuBackendOptions extends GpuForwardOptions {
  ctx?: GpuContext;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly context: number[] = [];
  private readonly sampler: SampleKernel;
  private readonly sample: BoundKernel;
  private readonly readback: GPUBuffer;
  private lost: DeviceLostError | null = null;
  private lastSampling = '';

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

  readonly forward: GpuForward;

  get config() {
    return this.forward.model.config;
  }

  private check(extra: number): void {
    if (this.lost) throw this.lost;
    const capacity = this.forward.kv.maxSlots;
    if (this.forward.kv.highWater + extra > capacity)
      throw new ContextOverflowError(`${this.context.length + extra} tokens exceed the KV cache of ${capacity} slots`, this.context.length + extra, capacity);
  }

  /** Runs `ids` through the model in chunks; the last chunk ends with `tail` (sampling or all logits). */
  private async run(ids: number[], signal: AbortSignal | undefined, step: number, seed: number, each: (chunkStart: number, n: number) => Promise<void> | void): Promise<void> {
    const { device } = this.ctx;
    const f = this.forward;
    this.check(ids.length);
    for (let i = 0; i < ids.length; i += f.maxChunk) {
      throwIfAborted(signal);
      const chunk = ids.slice(i, i + f.maxChunk);
      device.queue.writeBuffer(f.ids, 0, Uint32Array.from(chunk));
      this.sampler.writeRecent(this.context.length, chunk);
      f.prepare(this.context.length, chunk.length, step, seed);
      this.context.push(...chunk);
      await each(i, chunk.length);
    }
  }

  async append(ids: number[], sampling: ResolvedSampling, step: number, signal?: AbortSignal): Promise<number> {
    if (ids.length === 0) throw new RangeError('append needs at least one id');
    const key = JSON.stringify(sampling);
    if (key !== this.lastSampling) this.sampler.setSampling(sampling);
    this.lastSampling = key;
    const { device } = this.ctx;
    let id = -1;
    await this.run(ids, signal, step, sampling.seed, async (start, n) => {
      const last = start + n === ids.length;
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      this.forward.encode(pass, n);
      if (last) this.sample.encode(pass);
      pass.end();
      if (last) enc.copyBufferToBuffer(this.forward.ids, 0, this.readback, 0, 4);
      device.queue.submit([enc.finish()]);
      if (last) {
        await this.readback.mapAsync(GPUMapMode.READ).catch((e) => {
          throw this.lost ?? new DeviceLostError(`reading the sampled token failed: ${(e as Error).message}`);
        });
        id = new Uint32Array(this.readback.getMappedRange())[0];
        this.readback.unmap();
      }
    });
    return id;
  }

  async nll(ids: number[], signal?: AbortSignal): Promise<Float64Array> {
    const { device } = this.ctx;
    const vocab = this.config.vocabSize;
    const out = new Float64Array(Math.max(0, ids.length - 1));
    const staging = device.createBuffer({ size: this.forward.logitsAll.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      await this.run(ids, signal, 0, 0, async (start, n) => {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        this.forward.encode(pass, n, true);
        pass.end();
        enc.copyBufferToBuffer(this.forward.logitsAll, 0, staging, 0, n * vocab * 4);
        device.queue.submit([enc.finish()]);
        await staging.mapAsync(GPUMapMode.READ, 0, n * vocab * 4);
        const logits = new Float32Array(staging.getMappedRange(0, n * vocab * 4));
        for (let t = 0; t < n; t++) {
          const i = start + t;
          if (i + 1 < ids.length) out[i] = negLogSoftmaxAt(logits.subarray(t * vocab, (t + 1) * vocab), ids[i + 1]);
        }
        staging.unmap();
      });
    } finally {
      staging.destroy();
    }
    return out;
  }

  reset(): void {
    this.context.length = 0;
    this.forward.kv.reset();
    this.sampler.clearRecent();
  }

  dispose(): void {
    this.forward.destroy();
    this.sampler.destroy();
    this.readback.destroy();
  }
}
