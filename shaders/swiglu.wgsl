// gate[t, i] = silu(gate[t, i]) * up[t, i], the SwiGLU activation of the MLP, in place.

struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }
struct Params { width: u32, _a: u32, _b: u32, _c: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read_write> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let t = gid.y;
  if (i >= p.width || t >= step.nTokens) { return; }
  let g = gate[t * p.width + i];
  gate[t * p.width + i] = g / (1.0 + exp(-g)) * up[t * p.width + i];
}
