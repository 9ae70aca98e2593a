/**
 * The adapter's read roofline: GB/s of plain streaming-read kernels over a buffer larger than the
 * CPU's caches, measured with timestamp queries in the same run as the kernels it is compared with.
 * Benchmark-only code (no runtime kernel uses it), so its WGSL lives here.
 * Two access patterns, the better one is the roofline:
 * - `runs`:   each invocation reads its own contiguous run of vec4 (what one thread of a software
 *             adapter streams best);
 * - `strided`: the lanes of a workgroup read consecutive vec4, each workgroup its own chunk
 *             (coalesced, what real GPUs stream best).
 */
import { profile } from './gpu-profile';

const WGSL = `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<u32>;
override RUN: u32 = 256u;

fn flat(wg: vec3<u32>, n: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * n.x + wg.x) * 64u + lid;
}

@compute @workgroup_size(64)
fn runs(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat(wg, n, lid);
  var a = vec4<u32>();
  let k0 = i * RUN;
  for (var k = 0u; k < RUN; k++) { a += src[k0 + k]; }
  sink[i] = a.x ^ a.y ^ a.z ^ a.w;
}

@compute @workgroup_size(64)
fn strided(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wg.y * n.x + wg.x;
  let i = flat(wg, n, lid);
  var a = vec4<u32>();
  let k0 = g * 64u * RUN + lid;
  for (var k = 0u; k < RUN; k++) { a += src[k0 + 64u * k]; }
  sink[i] = a.x ^ a.y ^ a.z ^ a.w;
}
`;

export interface Roofline {
  /** GB/s (1e9 bytes per second) of each pattern, best over the run lengths and rounds. */
  runs: number;
  strided: number;
  best: number;
  /** Bytes streamed per dispatch. */
  bytes: number;
}

/**
 * Streams up to `mib` MiB (default 192, past any CPU's last-level cache; less when the binding limit
 * is lower) `rounds` times per pattern and run length (vec4 read per invocation).
 */
export async function measureRoofline(device: GPUDevice, mib = 192, rounds = 3, runLengths = [256, 1024, 4096]): Promise<Roofline> {
  const bytes = Math.min(mib * 2 ** 20, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const longest = Math.max(...runLengths);
  const used = Math.floor(bytes / (16 * 64 * longest)) * 16 * 64 * longest;
  const src = device.createBuffer({ size: used, usage: GPUBufferUsage.STORAGE });
  const sink = device.createBuffer({ size: used / 16, usage: GPUBufferUsage.STORAGE });
  const module = device.createShaderModule({ code: WGSL, label: 'roofline' });
  const result = { runs: 0, strided: 0 };
  try {
    for (const RUN of runLengths) {
      const groups = used / 16 / RUN / 64;
      const gx = Math.min(groups, 65535);
      const gy = Math.ceil(groups / gx);
      if (gx * gy !== groups) throw new Error(`roofline: ${groups} workgroups do not tile a 2-D grid`);
      for (const entryPoint of ['runs', 'strided'] as const) {
        const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint, constants: { RUN } }, label: `roofline#${entryPoint}` });
        const group = device.createBindGroup({ label: `roofline ${entryPoint}`, layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: sink } }] });
        for (let r = 0; r < rounds; r++) {
          const [t] = await profile(device, (pass) => {
            pass.setPipeline(pipeline);
            pass.setBindGroup(0, group);
            pass.dispatchWorkgroups(gx, gy);
          });
          result[entryPoint] = Math.max(result[entryPoint], used / t.ns);
        }
      }
    }
  } finally {
    src.destroy();
    sink.destroy();
  }
  return { ...result, best: Math.max(result.runs, result.strided), bytes: used };
}
