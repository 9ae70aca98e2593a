// SwiGLU activation of the MLP over the step's T rows of `width`: h = silu(gate) * up, with
// silu(g) = g / (1 + exp(-g)). Entry points: `main` writes h into gate (in place), `to_out` into
// out. One invocation per element, no barriers. exp is WGSL's (3 + 2|g| ulp); g -> -inf gives -0.

// StepParams and this kernel's uniform structs are prepended by its wrapper (src/gpu/uniforms.ts).

@group(0) @binding(0) var<uniform> p: SwigluParams;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read_write> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn swiglu_at(j: u32) -> f32 {
  let g = gate[j];
  return g / (1.0 + exp(-g)) * up[j];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.width || gid.y >= step.nTokens) { return; }
  let j = gid.y * p.width + gid.x;
  gate[j] = swiglu_at(j);
}

@compute @workgroup_size(64)
fn to_out(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.width || gid.y >= step.nTokens) { return; }
  let j = gid.y * p.width + gid.x;
  out[j] = swiglu_at(j);
}
