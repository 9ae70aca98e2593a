// Shared by the formats that decode four consecutive elements at a time (`w_quad(i)`, i % 4 == 0:
// Q4_1, Q5_1, Q4_K, Q5_K, Q6_K): the weight4/weight1 interface of weights_f32.wgsl on top of it.
fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  return w_quad(row * cols + col);
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  return w_quad(i & ~3u)[i & 3u];
}
