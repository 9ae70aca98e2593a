// llama.cpp Q8_0, repacked at upload: int8 quants four per word, f16 block scales two per word.
// cols is a multiple of 32, so a 4-aligned column never straddles a word or a block.
@group(0) @binding(8) var<storage, read> w_data: array<u32>;
@group(0) @binding(9) var<storage, read> w_scales: array<u32>;

fn q_scale(block: u32) -> f32 {
  let pair = unpack2x16float(w_scales[block >> 1u]);
  return select(pair.x, pair.y, (block & 1u) == 1u);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let i = row * cols + col;
  let w = w_data[i >> 2u];
  let q = vec4<i32>(bitcast<i32>(w << 24u), bitcast<i32>(w << 16u), bitcast<i32>(w << 8u), bitcast<i32>(w)) >> vec4<u32>(24u);
  return vec4<f32>(q) * q_scale(i >> 5u);
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  return weight4(row, col & ~3u, cols)[col & 3u];
}
