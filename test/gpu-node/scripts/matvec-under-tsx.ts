// Run by test/gpu-node/matvec_f32.test.ts with tsx: shaderSource() without Vite, and the kernel on Dawn.
import { acquireDevice } from '../../../src/gpu/device';
import { matvecF32 } from '../../../src/gpu/matvec_f32';
import { matvec } from '../../../src/cpu/matvec';

const ctx = await acquireDevice();
const rows = 70;
const cols = 9;
const W = Float32Array.from({ length: rows * cols }, (_, i) => ((i * 37) % 11) - 5);
const x = Float32Array.from({ length: cols }, (_, i) => i - 4);
const { y } = await matvecF32(ctx, W, x, rows, cols);
const ref = matvec(W, x, rows, cols);
// Small integers: every sum is exact in f32.
const bad = ref.findIndex((v, i) => v !== y[i]);
if (bad >= 0) throw new Error(`row ${bad}: ${y[bad]} != ${ref[bad]}`);
console.log('matvec_f32 under tsx: ok');
ctx.device.destroy();
