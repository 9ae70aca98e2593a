// out[t, c] = E[ids[t], c] for the step's T tokens, in any weight format (prepended by a
// weights_<format>.wgsl). Ids are read on the GPU, so a sampled id needs no round trip. A row-sliced
// embedding is one dispatch per slice; each fills the tokens whose row it holds.

// StepParams and this kernel's uniform structs are prepended by its wrapper (src/gpu/uniforms.ts).

@group(0) @binding(0) var<uniform> p: EmbeddingParams;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let t = gid.y;
  if (c >= p.cols || t >= step.nTokens) {
    return;
  }
  // An id past the vocabulary reads the last row rather than another buffer's memory.
  let id = min(ids[t], p.vocab - 1u);
  if (id < p.rowStart || id >= p.rowStart + p.rows) {
    return;
  }
  out[t * p.cols + c] = weight1(id - p.rowStart, c, p.cols);
}
