/**
 * Uniform structs from one field list: the WGSL declaration a shader is compiled with and the bytes
 * the wrapper writes come from the same object, so the two sides cannot drift apart. Fields are
 * 4-byte scalars in declaration order; the struct is padded to 16 bytes as uniforms must be.
 *
 *   const ROPE_PARAMS = uniformStruct('RopeParams', { numHeads: 'u32', headDim: 'u32', ... });
 *   computePipeline(device, ['rope'], 'main', wgslStructs(STEP_PARAMS, ROPE_PARAMS));
 *   const params = ROPE_PARAMS.create(device, { numHeads: 8, headDim: 64, ... });
 */
export type Scalar = 'u32' | 'i32' | 'f32';

export class UniformStruct<K extends string> {
  readonly names: readonly K[];
  /** Bytes, a multiple of 16. */
  readonly size: number;
  /** `struct Name { a: u32, b: f32, ... }` (with padding fields). */
  readonly wgsl: string;

  constructor(
    readonly name: string,
    readonly fields: Readonly<Record<K, Scalar>>,
  ) {
    this.names = Object.keys(fields) as K[];
    const words = Math.max(4, Math.ceil(this.names.length / 4) * 4);
    this.size = words * 4;
    const decl = this.names.map((n) => `${n}: ${fields[n]}`);
    for (let i = this.names.length; i < words; i++) decl.push(`_pad${i}: u32`);
    this.wgsl = `struct ${name} { ${decl.join(', ')} }`;
  }

  /** The struct's bytes; u32 values above 2^32 - 1 are clamped (no budget wraps around). */
  pack(values: Readonly<Record<K, number>>): ArrayBuffer {
    const raw = new ArrayBuffer(this.size);
    const u32 = new Uint32Array(raw);
    const i32 = new Int32Array(raw);
    const f32 = new Float32Array(raw);
    this.names.forEach((n, i) => {
      const v = values[n];
      if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${this.name}.${n} needs a number, got ${String(v)}`);
      if (this.fields[n] === 'f32') f32[i] = v;
      else if (this.fields[n] === 'i32') i32[i] = v;
      else u32[i] = Math.min(Math.max(v, 0), 0xffffffff);
    });
    return raw;
  }

  /** A uniform buffer holding `values` (the caller destroys it). */
  create(device: GPUDevice, values: Readonly<Record<K, number>>, label = this.name): GPUBuffer {
    const buffer = device.createBuffer({ label, size: this.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.write(device, buffer, values);
    return buffer;
  }

  write(device: GPUDevice, buffer: GPUBuffer, values: Readonly<Record<K, number>>): void {
    device.queue.writeBuffer(buffer, 0, this.pack(values));
  }
}

export function uniformStruct<K extends string>(name: string, fields: Record<K, Scalar>): UniformStruct<K> {
  return new UniformStruct(name, fields);
}

/** WGSL declarations of `structs`, to prepend to a kernel (`computePipeline`'s prelude). */
export function wgslStructs(...structs: UniformStruct<string>[]): string {
  return structs.map((s) => s.wgsl).join('\n') + '\n';
}
