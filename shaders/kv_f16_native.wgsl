// KV pools stored as native f16 (needs `enable f16;`, which the wrapper puts first in the module,
// and the shader-f16 feature). The same bytes as kv_f16.wgsl. Interface: see kv_f32.wgsl.
alias KvVec4 = vec4<f16>;
alias KvPair = vec2<f16>;

fn kv_vec4(x: KvVec4) -> vec4<f32> {
  return vec4<f32>(x);
}

fn kv_pair(x: KvPair) -> vec2<f32> {
  return vec2<f32>(x);
}

fn kv_pack(v: vec2<f32>) -> KvPair {
  return vec2<f16>(v);
}
