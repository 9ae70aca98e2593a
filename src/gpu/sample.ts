/** Wrapper of shaders/sample.wgsl: the GPU sampler and the ring of recent ids its penalty reads. */
import type { ResolvedSampling } from '../engine/sampling';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';

export class SampleKernel {
  readonly params: GPUBuffer;
  readonly recent: GPUBuffer;
  private readonly probs: GPUBuffer;
  private readonly window: number;

  constructor(
    private readonly device: GPUDevice,
    readonly vocab: number,
    /** The ring's size: the largest repetition window this sampler serves. */
    window = 256,
  ) {
    this.window = window;
    this.params = device.createBuffer({ label: 'sample params', size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.recent = device.createBuffer({ label: 'recent ids', size: this.window * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    this.probs = device.createBuffer({ label: 'probs', size: vocab * 4, usage: GPUBufferUsage.STORAGE });
    this.clearRecent();
  }

  setSampling(s: ResolvedSampling): void {
    if (s.repetitionWindow > this.window) throw new RangeError(`repetition window ${s.repetitionWindow} exceeds the ring of ${this.window}`);
    const raw = new ArrayBuffer(32);
    new Uint32Array(raw).set([this.vocab, s.greedy ? 1 : 0, s.topK, s.repetitionWindow, 0, 0, 0, this.window]);
    new Float32Array(raw).set([s.temperature, s.topP, s.repetitionPenalty], 4);
    this.device.queue.writeBuffer(this.params, 0, raw);
  }

  clearRecent(): void {
    this.device.queue.writeBuffer(this.recent, 0, new Uint32Array(this.window).fill(0xffffffff));
  }

  /** Records context ids at their positions (the ring keeps the last `window`). */
  writeRecent(pos0: number, ids: readonly number[]): void {
    const start = Math.max(0, ids.length - this.window);
    for (let i = start; i < ids.length; i++) this.device.queue.writeBuffer(this.recent, ((pos0 + i) % this.window) * 4, new Uint32Array([ids[i]]));
  }

  bind(b: { logits: GPUBuffer; ids: GPUBuffer; step: GPUBuffer }): BoundKernel {
    const pipeline = computePipeline(this.device, ['sample'], 'main');
    const group = bindGroup(this.device, pipeline, { 0: this.params, 1: b.step, 2: b.logits, 3: this.recent, 4: b.ids, 5: this.probs }, 'sample');
    return {
      encode(pass) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(1);
      },
    };
  }

  destroy(): void {
    for (const b of [this.params, this.recent, this.probs]) b.destroy();
  }
}
