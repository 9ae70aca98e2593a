/**
 * Per-dispatch GPU time with timestamp queries. `profile` runs what an `encode(pass)` callback
 * records, but each dispatch in its own compute pass with timestampWrites at its start and end, so
 * the kernels are timed one by one (the bind state of the recorded pass is replayed in each).
 * Dawn rounds timestamps to 65.5 us unless the device was created with timestamp_quantization
 * disabled (src/gpu/device.ts does so in Node).
 */

export interface DispatchTime {
  /** The bind group's label (the kernel wrapper's name for it). */
  label: string;
  /** The pipeline's entry point. */
  entry: string;
  ns: number;
}

interface Recorded {
  pipeline: GPUComputePipeline;
  groups: (GPUBindGroup | null)[];
  size: [number, number, number];
}

/** The dispatches an encode callback records (pipeline, bind groups, workgroup counts). */
export function record(encode: (pass: GPUComputePassEncoder) => void): Recorded[] {
  const out: Recorded[] = [];
  let pipeline: GPUComputePipeline | null = null;
  const groups: (GPUBindGroup | null)[] = [];
  const recorder = {
    setPipeline: (p: GPUComputePipeline) => (pipeline = p),
    setBindGroup: (i: number, g: GPUBindGroup | null) => (groups[i] = g),
    dispatchWorkgroups: (x: number, y = 1, z = 1) => out.push({ pipeline: pipeline!, groups: [...groups], size: [x, y, z] }),
  } as unknown as GPUComputePassEncoder;
  encode(recorder);
  return out;
}

/** The entry point from a pipeline label of src/gpu/pipelines.ts (`...#entry`). */
const entryOf = (p: GPUComputePipeline) => p.label.slice(p.label.lastIndexOf('#') + 1);

export async function profile(device: GPUDevice, encode: (pass: GPUComputePassEncoder) => void): Promise<DispatchTime[]> {
  if (!device.features.has('timestamp-query')) throw new Error('the device has no timestamp-query');
  const calls = record(encode);
  const n = calls.length * 2;
  const set = device.createQuerySet({ type: 'timestamp', count: n });
  const resolve = device.createBuffer({ size: n * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: n * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    calls.forEach((c, i) => {
      const pass = enc.beginComputePass({ timestampWrites: { querySet: set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      pass.setPipeline(c.pipeline);
      c.groups.forEach((g, j) => g && pass.setBindGroup(j, g));
      pass.dispatchWorkgroups(...c.size);
      pass.end();
    });
    enc.resolveQuerySet(set, 0, n, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, read, 0, n * 8);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    return calls.map((c, i) => ({ label: c.groups[0]?.label ?? '', entry: entryOf(c.pipeline), ns: Number(t[2 * i + 1] - t[2 * i]) }));
  } finally {
    set.destroy();
    resolve.destroy();
    read.destroy();
  }
}

/** Element-wise minimum over repeated profiles of the same dispatches (neighbours only slow a run down). */
export function minProfile(runs: DispatchTime[][]): DispatchTime[] {
  return runs[0].map((d, i) => ({ ...d, ns: Math.min(...runs.map((r) => r[i].ns)) }));
}

/** Sums dispatch times by a grouping key. */
export function groupTimes(times: DispatchTime[], key: (d: DispatchTime) => string): Map<string, { ns: number; count: number }> {
  const m = new Map<string, { ns: number; count: number }>();
  for (const d of times) {
    const k = key(d);
    const g = m.get(k) ?? { ns: 0, count: 0 };
    g.ns += d.ns;
    g.count++;
    m.set(k, g);
  }
  return m;
}

/** Process CPU time (user + system, every thread: the software adapter's workers included), in ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
