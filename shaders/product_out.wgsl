// Where matvec.wgsl and matmul.wgsl put output row r of token t (r counts rows of the whole
// weight). A fused weight (QKV, gate + up: src/gpu/fused.ts) writes each part to its own buffer:
// rows [0, split1) to y (token t at yOffset + t * yStride), [split1, split2) to y2 and
// [split2, rows) to y3, each [T, part rows]. The wrapper prepends (src/gpu/product_out.ts)
// `fn bias_at(r) -> f32` (0, or the row's bias at binding 7: y = W x + b) and `fn put_part(t, r, v)
// -> bool` (false when the weight is not split; else it stores rows past split1 in y2 / y3 at
// bindings 5 and 6, which exist only then: writable bindings must not alias).
// Needs `p` with rowStart, yOffset, yStride, accumulate, split1, split2, totalRows.

@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// `row` is relative to the bound slice.
fn store_out(t: u32, row: u32, v: f32) {
  let r = p.rowStart + row;
  let b = v + bias_at(r);
  if (put_part(t, r, b)) {
    return;
  }
  let i = p.yOffset + t * p.yStride + r;
  if (p.accumulate != 0u) {
    y[i] += b;
  } else {
    y[i] = b;
  }
}
