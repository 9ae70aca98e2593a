/**
 * Wrapper of shaders/matvec_f32.wgsl: y = W x, W [rows, cols] f32 row-major, one invocation per row.
 * The proof kernel of the harness: it owns its bind group layout (explicit, shared by both entry
 * points), its pipelines (one per entry point, compiled on first use) and its dispatch sizes.
 *
 *   const k = MatvecF32.for(device);
 *   const bound = k.bind({ W, x, y }, rows, cols);   // once per set of buffers
 *   bound.encode(pass);                              // in any compute pass, as often as needed
 *   bound.destroy();                                 // frees its uniform buffer
 * or, for one-offs and tests: `await matvecF32(device, W, x, rows, cols)` (uploads, runs, reads back).
 */
import { D2OError } from '../errors';
import type { GpuContext } from './device';
import { readF32, storageBuffer, uniformBuffer } from './buffers';
import { shaderSource } from './shaders';

export type MatvecF32Entry = 'matvec_vec4' | 'matvec_scalar';

export interface MatvecF32Buffers {
  /** rows * cols f32, row-major (more is allowed: only the first rows * cols are bound). */
  W: GPUBuffer;
  /** cols f32. */
  x: GPUBuffer;
  /** rows f32, overwritten. */
  y: GPUBuffer;
}

export interface BoundMatvecF32 {
  readonly entryPoint: MatvecF32Entry;
  /** Workgroups [x, y] of the dispatch. */
  readonly dispatch: readonly [number, number];
  encode(pass: GPUComputePassEncoder): void;
  destroy(): void;
}

export interface MatvecF32Options {
  /**
   * Workgroups per dispatch dimension before wrapping into y; default and maximum: the device's
   * maxComputeWorkgroupsPerDimension (65535 in practice). Tests lower it to cover the 2-D path.
   */
  maxWorkgroupsPerDimension?: number;
}

function unwrap(d: GPUDevice | GpuContext): GPUDevice {
  return (d as GpuContext).device ?? (d as GPUDevice);
}

const instances = new WeakMap<GPUDevice, MatvecF32>();

export class MatvecF32 {
  /** Rows per workgroup (the shader's @workgroup_size). */
  static readonly WORKGROUP = 64;

  readonly device: GPUDevice;
  readonly layout: GPUBindGroupLayout;
  readonly maxGroups: number;
  private readonly pipelines = new Map<MatvecF32Entry, GPUComputePipeline>();
  private module?: GPUShaderModule;

  /** The shared instance of a device (default options). */
  static for(ctx: GPUDevice | GpuContext): MatvecF32 {
    const device = unwrap(ctx);
    let k = instances.get(device);
    if (!k) instances.set(device, (k = new MatvecF32(device)));
    return k;
  }

  constructor(ctx: GPUDevice | GpuContext, opts: MatvecF32Options = {}) {
    this.device = unwrap(ctx);
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    this.maxGroups = Math.min(limit, opts.maxWorkgroupsPerDimension ?? limit);
    if (!(this.maxGroups >= 1)) throw new D2OError(`matvec_f32: maxWorkgroupsPerDimension must be >= 1`);
    const storage = (type: GPUBufferBindingType, binding: number): GPUBindGroupLayoutEntry => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type },
    });
    this.layout = this.device.createBindGroupLayout({
      label: 'matvec_f32',
      entries: [storage('uniform', 0), storage('read-only-storage', 1), storage('read-only-storage', 2), storage('storage', 3)],
    });
  }

  /** vec4 loads need every row to start on a 16-byte boundary. */
  entryPoint(cols: number): MatvecF32Entry {
    return cols % 4 === 0 ? 'matvec_vec4' : 'matvec_scalar';
  }

  /** Workgroups [x, y] for `rows`: ceil(rows / 64) along x, wrapped into y past maxGroups. */
  dispatchSize(rows: number): [number, number] {
    const groups = Math.max(1, Math.ceil(rows / MatvecF32.WORKGROUP));
    if (groups <= this.maxGroups) return [groups, 1];
    const gy = Math.ceil(groups / this.maxGroups);
    if (gy > this.maxGroups) throw new D2OError(`matvec_f32: ${rows} rows exceed a 2-D dispatch of ${this.maxGroups}^2 workgroups`);
    return [Math.ceil(groups / gy), gy];
  }

  pipeline(entry: MatvecF32Entry): GPUComputePipeline {
    let p = this.pipelines.get(entry);
    if (!p) {
      this.module ??= this.device.createShaderModule({ label: 'matvec_f32', code: shaderSource('matvec_f32') });
      p = this.device.createComputePipeline({
        label: `matvec_f32 ${entry}`,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layout] }),
        compute: { module: this.module, entryPoint: entry },
      });
      this.pipelines.set(entry, p);
    }
    return p;
  }

  /** Checks the sizes, writes the uniforms and builds the bind group. */
  bind(b: MatvecF32Buffers, rows: number, cols: number): BoundMatvecF32 {
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1)
      throw new D2OError(`matvec_f32: rows and cols must be positive integers (got ${rows} x ${cols})`);
    const wBytes = rows * cols * 4;
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    if (wBytes > maxBinding)
      throw new D2OError(`matvec_f32: W is ${wBytes} bytes, more than one binding holds (${maxBinding}): split it into row slices`);
    const need = (name: string, buf: GPUBuffer, bytes: number) => {
      if (buf.size < bytes) throw new D2OError(`matvec_f32: ${name} has ${buf.size} bytes, needs ${bytes} (${rows} x ${cols})`);
    };
    need('W', b.W, wBytes);
    need('x', b.x, cols * 4);
    need('y', b.y, rows * 4);

    const entryPoint = this.entryPoint(cols);
    const pipeline = this.pipeline(entryPoint);
    const dispatch = this.dispatchSize(rows);
    const params = uniformBuffer(this.device, new Uint32Array([rows, cols, dispatch[0], 0]), 'matvec_f32 params');
    const group = this.device.createBindGroup({
      label: 'matvec_f32',
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: b.W, size: wBytes } },
        { binding: 2, resource: { buffer: b.x, size: cols * 4 } },
        { binding: 3, resource: { buffer: b.y, size: rows * 4 } },
      ],
    });
    return {
      entryPoint,
      dispatch,
      encode(pass) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(dispatch[0], dispatch[1]);
      },
      destroy() {
        params.destroy();
      },
    };
  }

  /** Encodes and submits one dispatch on its own (not awaited: read y back or await onSubmittedWorkDone). */
  run(b: MatvecF32Buffers, rows: number, cols: number): BoundMatvecF32 {
    const bound = this.bind(b, rows, cols);
    const enc = this.device.createCommandEncoder({ label: 'matvec_f32' });
    const pass = enc.beginComputePass();
    bound.encode(pass);
    pass.end();
    this.device.queue.submit([enc.finish()]);
    return bound;
  }
}

/** Uploads W and x, runs the kernel, reads y back and frees everything (tests, one-offs). */
export async function matvecF32(
  ctx: GPUDevice | GpuContext,
  W: Float32Array,
  x: Float32Array,
  rows: number,
  cols: number,
  kernel: MatvecF32 = MatvecF32.for(ctx),
): Promise<{ y: Float32Array; entryPoint: MatvecF32Entry; dispatch: readonly [number, number] }> {
  const device = unwrap(ctx);
  if (W.length < rows * cols || x.length < cols) throw new D2OError(`matvec_f32: W or x is shorter than ${rows} x ${cols}`);
  const wBuf = storageBuffer(device, W.subarray(0, rows * cols), 'matvec_f32 W');
  const xBuf = storageBuffer(device, x.subarray(0, cols), 'matvec_f32 x');
  const yBuf = storageBuffer(device, rows * 4, 'matvec_f32 y');
  try {
    const bound = kernel.run({ W: wBuf, x: xBuf, y: yBuf }, rows, cols);
    const y = await readF32(device, yBuf, rows);
    bound.destroy();
    return { y, entryPoint: bound.entryPoint, dispatch: bound.dispatch };
  } finally {
    wBuf.destroy();
    xBuf.destroy();
    yBuf.destroy();
  }
}
