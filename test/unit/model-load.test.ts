import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/load';
import { parseGguf } from '../../src/model/gguf';
import { writeGguf, permuteRows } from '../../src/model/gguf-writer';
import { dequantize, f32ToF16Bits, quantizeQ4_0 } from '../../src/model/dtypes';
import { fileListSource, urlSource } from '../../src/model/sources';
import { AbortError, ModelFormatError } from '../../src/errors';
import type { LoadProgress } from '../../src/model/types';
import { stories260K, tinystories656k } from '../helpers/models';
import { randomFloats } from '../cases/random';

describe('loadModel', () => {
  it('detects each format from a path', async () => {
    expect((await loadModel(tinystories656k.dir)).format).toBe('safetensors');
    expect((await loadModel(tinystories656k.gguf)).format).toBe('gguf');
    expect((await loadModel(stories260K.dir)).format).toBe('llama2c');
    expect((await loadModel(stories260K.bin)).tokenizer.kind).toBe('llama2c');
  });

  it('the Q8_0 GGUF dequantizes to within 1/64 of the safetensors weights, every tensor (q/k un-permuted)', async () => {
    const st = await loadModel(tinystories656k.dir);
    const gg = await loadModel(tinystories656k.gguf);
    expect([...gg.tensors.keys()].sort()).toEqual([...st.tensors.keys()].sort());
    for (const [name, t] of st.tensors) {
      const a = dequantize(t);
      const b = dequantize(gg.tensors.get(name)!);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      // models/README.md says 0.014; 9 of ~230k weights (o_proj and down_proj of layer 1) differ by
      // up to 0.01563, a step of the file's own quantizer. A wrong q/k row order would give ~1.
      expect(worst, name).toBeLessThanOrEqual(1 / 64 + 1e-6);
    }
  });

  it('reports monotone progress that ends at the total, and honours abort', async () => {
    const events: LoadProgress[] = [];
    await loadModel(tinystories656k.dir, { onProgress: (p) => events.push(p) });
    expect(events.length).toBeGreaterThan(0);
    for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
    expect(events.at(-1)!.loaded).toBe(events.at(-1)!.total);
    const ac = new AbortController();
    ac.abort();
    await expect(loadModel(tinystories656k.dir, { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
  });

  it('loads browser File objects and a URL source', async () => {
    const names = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
    const files = names.map((n) => new File([readFileSync(join(tinystories656k.dir, n))], n));
    expect((await loadModel(files)).config.vocabSize).toBe(2048);
    const served = (url: string) => {
      const name = url.slice('http://models.test/'.length);
      try {
        return new Response(readFileSync(join(tinystories656k.dir, name)));
      } catch {
        return new Response('missing', { status: 404 });
      }
    };
    const source = urlSource('http://models.test/', async (input) => served(String(input)));
    const m = await loadModel({ source });
    expect(m.tokenizer.kind).toBe('hf');
    await expect(loadModel({ source: fileListSource([]) })).rejects.toBeInstanceOf(ModelFormatError);
  });

  it('loads sharded safetensors through model.safetensors.index.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'd2o-shards-'));
    const whole = new Uint8Array(readFileSync(join(tinystories656k.dir, 'model.safetensors')));
    const headerLen = Number(new DataView(whole.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(whole.subarray(8, 8 + headerLen)));
    const names = Object.keys(header).filter((n) => n !== '__metadata__');
    const shards = [names.slice(0, 5), names.slice(5)];
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const h: Record<string, unknown> = {};
      const chunks: Uint8Array[] = [];
      let off = 0;
      for (const n of shard) {
        const [b, e] = header[n].data_offsets;
        const data = whole.subarray(8 + headerLen + b, 8 + headerLen + e);
        h[n] = { ...header[n], data_offsets: [off, off + data.length] };
        chunks.push(data);
        off += data.length;
        weightMap[n] = file;
      }
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + off);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      let o = 8 + json.length;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      writeFileSync(join(dir, file), out);
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    copyFileSync(join(tinystories656k.dir, 'config.json'), join(dir, 'config.json'));
    const sharded = await loadModel(dir);
    const single = await loadModel(tinystories656k.dir);
    for (const [n, t] of single.tensors) expect(Buffer.from(sharded.tensors.get(n)!.data).equals(Buffer.from(t.data)), n).toBe(true);
  });
});

describe('GGUF writer round trip', () => {
  it('F16, BF16 and Q4_0 tensors with permuted q/k read back faithfully', () => {
    const dim = 64;
    const heads = 4;
    const f = (n: number, seed: number) => randomFloats(n, seed);
    const f16 = (x: Float32Array) => new Uint8Array(Uint16Array.from(x, f32ToF16Bits).buffer);
    const bf16 = (x: Float32Array) => new Uint8Array(Uint16Array.from(new Uint32Array(x.buffer), (u) => u >>> 16).buffer);
    const q = f(dim * dim, 1);
    const k = f(dim * dim, 2);
    const tensors = [
      { name: 'token_embd.weight', dtype: 'f16' as const, shape: [50, dim], data: f16(f(50 * dim, 3)) },
      { name: 'output.weight', dtype: 'bf16' as const, shape: [50, dim], data: bf16(f(50 * dim, 4)) },
      { name: 'output_norm.weight', dtype: 'f32' as const, shape: [dim], data: new Uint8Array(f(dim, 5).buffer) },
      { name: 'blk.0.attn_norm.weight', dtype: 'f32' as const, shape: [dim], data: new Uint8Array(f(dim, 6).buffer) },
      { name: 'blk.0.ffn_norm.weight', dtype: 'f32' as const, shape: [dim], data: new Uint8Array(f(dim, 7).buffer) },
      { name: 'blk.0.attn_q.weight', dtype: 'q4_0' as const, shape: [dim, dim], data: permuteRows(quantizeQ4_0(q), dim, heads) },
      { name: 'blk.0.attn_k.weight', dtype: 'q4_0' as const, shape: [dim, dim], data: permuteRows(quantizeQ4_0(k), dim, heads) },
      ...['attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'].map((n, i) => ({ name: `blk.0.${n}.weight`, dtype: 'q4_0' as const, shape: [dim, dim], data: quantizeQ4_0(f(dim * dim, 10 + i)) })),
    ];
    const meta: [string, string | number][] = [
      ['general.architecture', 'llama'], ['llama.embedding_length', dim], ['llama.block_count', 1], ['llama.feed_forward_length', dim],
      ['llama.attention.head_count', heads], ['llama.context_length', 256],
    ];
    const m = parseGguf(writeGguf(meta, tensors), { kind: 'none' });
    expect(m.config.tieWordEmbeddings).toBe(false);
    expect(dequantize(m.tensors.get('model.layers.0.self_attn.q_proj.weight')!)).toEqual(dequantize({ name: 'q', dtype: 'q4_0', shape: [dim, dim], data: quantizeQ4_0(q) }));
    expect(Buffer.from(m.tensors.get('lm_head.weight')!.data).equals(Buffer.from(tensors[1].data))).toBe(true);
    const q4 = dequantize({ name: 'q', dtype: 'q4_0', shape: [dim, dim], data: quantizeQ4_0(q) });
    // Q4_0's step is |max| / 8 (max <= 1 here); the side opposite the block's max clamps at 7 steps, one step off.
    for (let i = 0; i < q.length; i++) expect(Math.abs(q4[i] - q[i])).toBeLessThanOrEqual(1 / 8 + 1e-3);
  });
});
