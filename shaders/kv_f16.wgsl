// KV pools stored as f16, two halves packed in each u32 (core WGSL: adapters without shader-f16).
// The same bytes as kv_f16_native.wgsl's array<f16>. Interface: see kv_f32.wgsl.
alias KvVec4 = vec2<u32>;
alias KvPair = u32;

fn kv_vec4(x: KvVec4) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(x.x), unpack2x16float(x.y));
}

fn kv_pair(x: KvPair) -> vec2<f32> {
  return unpack2x16float(x);
}

fn kv_pack(v: vec2<f32>) -> KvPair {
  return pack2x16float(v);
}
