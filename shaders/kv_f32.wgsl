// KV pools stored as f32 (see src/gpu/kv-cache.ts). Interface shared by every KV storage, which the
// wrapper puts before the kernel:
//   KvVec4, kv_vec4(x) -> vec4<f32>   four consecutive elements (attention reads array<KvVec4>)
//   KvPair, kv_pair(x) -> vec2<f32>   two consecutive elements (kv_append and kv_policy read and
//   kv_pack(v: vec2<f32>) -> KvPair    write array<KvPair>; storing rounds to the storage)
alias KvVec4 = vec4<f32>;
alias KvPair = vec2<f32>;

fn kv_vec4(x: KvVec4) -> vec4<f32> {
  return x;
}

fn kv_pair(x: KvPair) -> vec2<f32> {
  return x;
}

fn kv_pack(v: vec2<f32>) -> KvPair {
  return v;
}
