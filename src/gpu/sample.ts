/**
 * Wrapper of shaders/sample.wgsl: the GPU sampler, the ring of recent context ids its repetition
 * penalty reads, and its scratch. The sampled id goes to `ids[outIndex]` and into the ring, so a
 * decode step needs no CPU write for it; the CPU writes the ids it feeds itself (prompt, later
 * turns) with `writeRecent`, which is harmless for ids the sampler already appended.
 *
 *   const sampler = new SampleKernel(ctx, vocab);
 *   sampler.setSampling(resolveSampling(opts));        // when the settings change
 *   sampler.writeRecent(pos0, promptIds);              // at prefill
 *   const bound = sampler.bind({ logits, ids, step }); // once
 *   bound.encode(pass);                                // every step, after the LM head
 *
 * The penalty is applied to `logits` in place. seed and step come from StepParams; the context
 * length the penalty window ends at is StepParams.pos0 + nTokens.
 */
import { deviceOf, type GpuTarget } from './device';
import { resolveSampling, type ResolvedSampling } from '../backend/sampling';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { readBuffer, storageBuffer } from './buffers';
import { STEP_PARAMS } from './step-params';
import { uniformStruct, wgslStructs } from './uniforms';

/** Invocations of the sampler's single workgroup; also the largest repetition window. */
export const SAMPLER_WORKGROUP = 256;
/** Scratch after the vocabulary's e: 4 floats (sum, tk, tp, unused), then 32 buckets x 256 invocations. */
const EXTRA_FLOATS = 4 + 32 * SAMPLER_WORKGROUP;
const EMPTY = 0xffffffff;

/** The settings, written by setSampling when they change. */
const SAMPLING = uniformStruct('Sampling', { greedy: 'u32', topK: 'u32', window: 'u32', temperature: 'f32', topP: 'f32', penalty: 'f32' });
/** Fixed at bind time; `zero` is always 0 (see `opaque` in the WGSL). */
const SAMPLER_LAYOUT = uniformStruct('SamplerLayout', { vocab: 'u32', ringSize: 'u32', outIndex: 'u32', zero: 'u32' });
const STRUCTS = wgslStructs(STEP_PARAMS, SAMPLING, SAMPLER_LAYOUT);

export type SamplerEntry = 'penalty' | 'argmax' | 'softmax' | 'top_k' | 'top_p' | 'draw';

export interface SampleBuffers {
  /** f32 [vocab]: the last token's logits (modified in place by the repetition penalty). */
  logits: GPUBuffer;
  /** u32: the sampled id is written at `outIndex`. */
  ids: GPUBuffer;
  step: GPUBuffer;
}

export class SampleKernel {
  readonly device: GPUDevice;
  /** The sampling settings uniform (`setSampling`). */
  readonly params: GPUBuffer;
  /** u32 [ringSize]: the id of context position i at i % ringSize (0xffffffff: none). */
  readonly recent: GPUBuffer;
  private readonly scratch: GPUBuffer;
  private readonly owned: GPUBuffer[] = [];
  private current = '';
  private settings: ResolvedSampling = resolveSampling();

  constructor(
    ctx: GpuTarget,
    readonly vocab: number,
    /** Ring size: at least the largest repetition window served (at most 256). */
    readonly ringSize = SAMPLER_WORKGROUP,
  ) {
    if (!(vocab >= 1 && vocab < 2 ** 24)) throw new RangeError(`sampler vocabulary ${vocab} outside [1, 2^24)`);
    if (!(ringSize >= 1)) throw new RangeError(`ring size ${ringSize}`);
    this.device = deviceOf(ctx);
    const d = this.device;
    this.params = d.createBuffer({ label: 'sampling params', size: SAMPLING.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.recent = storageBuffer(d, ringSize * 4, 'recent ids');
    this.scratch = d.createBuffer({ label: 'sampler scratch', size: (vocab + EXTRA_FLOATS) * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    this.owned.push(this.params, this.recent, this.scratch);
    this.setSampling(resolveSampling());
    this.clearRecent();
  }

  /** Writes the settings uniform (only when they changed). */
  setSampling(o: ResolvedSampling): void {
    const window = Math.min(o.repetitionWindow, SAMPLER_WORKGROUP);
    if (o.repetitionPenalty !== 1 && o.repetitionWindow > Math.min(this.ringSize, SAMPLER_WORKGROUP))
      throw new RangeError(`repetition window ${o.repetitionWindow} exceeds the ring of ${Math.min(this.ringSize, SAMPLER_WORKGROUP)}`);
    if (!o.greedy && !(o.temperature > 0)) throw new RangeError(`temperature ${o.temperature}`);
    const raw = SAMPLING.pack({ greedy: o.greedy ? 1 : 0, topK: o.topK, window, temperature: o.greedy ? 1 : o.temperature, topP: o.topP, penalty: o.repetitionPenalty });
    const key = Array.from(new Uint32Array(raw)).join(',');
    this.settings = { ...o };
    if (key === this.current) return;
    this.current = key;
    this.device.queue.writeBuffer(this.params, 0, raw);
  }

  /** Forgets every recent id (a new sequence). */
  clearRecent(): void {
    this.device.queue.writeBuffer(this.recent, 0, new Uint32Array(this.ringSize).fill(EMPTY));
  }

  /** Records context ids at positions pos0, pos0 + 1, ... (only the last `ringSize` matter). */
  writeRecent(pos0: number, ids: ArrayLike<number>): void {
    const n = Math.min(ids.length, this.ringSize);
    if (n === 0) return;
    const first = pos0 + ids.length - n;
    const data = new Uint32Array(n);
    for (let i = 0; i < n; i++) data[i] = ids[ids.length - n + i];
    // At most two runs: up to the end of the ring, then from its start.
    const slot = first % this.ringSize;
    const head = Math.min(n, this.ringSize - slot);
    this.device.queue.writeBuffer(this.recent, slot * 4, data, 0, head);
    if (head < n) this.device.queue.writeBuffer(this.recent, 0, data, head, n - head);
  }

  /**
   * Builds the bind groups once. `encode(pass)` dispatches the entry points the current settings
   * need (read when encoding, so `setSampling` before encoding the step is enough): penalty when
   * the penalty is not 1, then argmax, or softmax [top_k] [top_p] draw.
   */
  bind(b: SampleBuffers, o: { outIndex?: number } = {}): BoundKernel {
    const d = this.device;
    const layout = SAMPLER_LAYOUT.create(d, { vocab: this.vocab, ringSize: this.ringSize, outIndex: o.outIndex ?? 0, zero: 0 }, 'sampler layout');
    // The bindings each entry point uses (its 'auto' layout has exactly these).
    const uses: Record<SamplerEntry, Record<number, GPUBuffer>> = {
      penalty: { 0: this.params, 1: b.step, 2: b.logits, 3: this.recent, 6: layout },
      argmax: { 1: b.step, 2: b.logits, 3: this.recent, 4: b.ids, 6: layout },
      softmax: { 0: this.params, 2: b.logits, 5: this.scratch, 6: layout },
      top_k: { 0: this.params, 5: this.scratch, 6: layout },
      top_p: { 0: this.params, 5: this.scratch, 6: layout },
      draw: { 1: b.step, 3: this.recent, 4: b.ids, 5: this.scratch, 6: layout },
    };
    const bound = {} as Record<SamplerEntry, { pipeline: GPUComputePipeline; group: GPUBindGroup }>;
    for (const entry of Object.keys(uses) as SamplerEntry[]) {
      const pipeline = computePipeline(d, ['sample'], entry, STRUCTS);
      bound[entry] = { pipeline, group: bindGroup(d, pipeline, uses[entry], `sample ${entry}`) };
    }
    return {
      encode: (pass) => {
        for (const entry of this.entries()) {
          pass.setPipeline(bound[entry].pipeline);
          pass.setBindGroup(0, bound[entry].group);
          pass.dispatchWorkgroups(1);
        }
      },
      destroy() {
        layout.destroy();
      },
    };
  }

  /** The entry points the current settings need, in order. */
  entries(): SamplerEntry[] {
    const o = this.settings;
    const list: SamplerEntry[] = o.repetitionPenalty !== 1 ? ['penalty'] : [];
    if (o.greedy) return [...list, 'argmax'];
    list.push('softmax');
    if (o.topK > 0 && o.topK < this.vocab) list.push('top_k');
    if (o.topP < 1) list.push('top_p');
    list.push('draw');
    return list;
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}

/** Test probe: the WGSL `uniform_at` of each (seeds[i], steps[i]), to check it equals `uniformAt`. */
export async function gpuUniformAt(ctx: GpuTarget, seeds: ArrayLike<number>, steps: ArrayLike<number>): Promise<Float32Array> {
  const device = deviceOf(ctx);
  const n = seeds.length;
  const pairs = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    pairs[2 * i] = seeds[i] >>> 0;
    pairs[2 * i + 1] = steps[i] >>> 0;
  }
  const pipeline = computePipeline(device, ['sample'], 'uniforms', STRUCTS);
  const input = storageBuffer(device, pairs, 'uniform pairs');
  const values = storageBuffer(device, n * 4, 'uniform values');
  const group = bindGroup(device, pipeline, { 7: input, 8: values }, 'uniforms');
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  device.queue.submit([enc.finish()]);
  const out = new Float32Array(await readBuffer(device, values, n * 4));
  input.destroy();
  values.destroy();
  return out;
}
