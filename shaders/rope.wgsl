// Rotary embedding in place on q [T, numHeads, headDim] and k [T, numKvHeads, headDim].
// cos/sin come from a per-step table computed on the CPU (exact, and WGSL's cos/sin promise little
// accuracy outside [-pi, pi]). Pairs are (i, i + d/2) in the rotate-half layout, (2i, 2i+1) interleaved.

struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }
struct Params { numHeads: u32, numKvHeads: u32, headDim: u32, interleaved: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<storage, read_write> k: array<f32>;
@group(0) @binding(4) var<storage, read> table: array<vec2<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let half = p.headDim / 2u;
  let heads = p.numHeads + p.numKvHeads;
  let i = gid.x % half;
  let h = gid.x / half;
  let t = gid.y;
  if (h >= heads || t >= step.nTokens) { return; }
  let cs = table[t * half + i];
  let a = select(i, 2u * i, p.interleaved != 0u);
  let b = select(i + half, 2u * i + 1u, p.interleaved != 0u);
  if (h < p.numHeads) {
    let base = (t * p.numHeads + h) * p.headDim;
    let x0 = q[base + a];
    let x1 = q[base + b];
    q[base + a] = x0 * cs.x - x1 * cs.y;
    q[base + b] = x0 * cs.y + x1 * cs.x;
  } else {
    let base = (t * p.numKvHeads + h - p.numHeads) * p.headDim;
    let x0 = k[base + a];
    let x1 = k[base + b];
    k[base + a] = x0 * cs.x - x1 * cs.y;
    k[base + b] = x0 * cs.y + x1 * cs.x;
  }
}
