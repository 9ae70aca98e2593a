// y[t, i] += b[i] over the step's T rows of `width` (the q/k/v biases of Qwen2, after their
// projections). One invocation per element, no barriers.

struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }
struct Params { width: u32, _a: u32, _b: u32, _c: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.width || gid.y >= step.nTokens) { return; }
  y[gid.y * p.width + gid.x] += b[gid.x];
}
