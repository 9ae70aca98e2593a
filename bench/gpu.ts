/**
 * The benchmark of `npm run bench:gpu`'s package (scripts/bench-gpu-package.mjs bundles this file):
 * run on a machine with a GPU, a Vulkan driver, no network and no npm, it writes one JSON with the
 * adapter (name, features, limits), the streaming-read roofline, and per dtype and context the
 * decode profile (tok/s, CPU-ms per token, dispatches, GPU time per kernel group, GB/s of the
 * matvecs against the roofline) and the prefill (tok/s, matmul GFLOP/s). The JSON is rewritten
 * after every row, so a run cut short still leaves what it measured.
 *   node bench.mjs [--json FILE] [--quick] [--full] [--variant simple|tiled]
 *   --quick    one small context and dtype (to check a package works)
 *   --full     also the Llama-3.2-1B shape
 *   --variant  the kernels to run (default: the adapter's, i.e. tiled on a real GPU, with f16 weights
 *              read as native f16 where it has shader-f16); every row says which ran
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { acquireDevice } from '../src/gpu/device';
import { chooseVariant, type KernelVariant } from '../src/gpu/variant';
import type { DType } from '../src/model/types';
import { syntheticModel } from './synthetic';
import { measureRoofline } from './roofline';
import { profileDecode, profilePrefill, type PrefillRow, type ProfileRow } from './decode-profile';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const jsonAt = args.indexOf('--json');
const jsonPath = jsonAt >= 0 ? args[jsonAt + 1] : 'bench-gpu.json';
const quick = flag('--quick');
const variantAt = args.indexOf('--variant');
const askedVariant = variantAt >= 0 ? args[variantAt + 1] : undefined;
if (askedVariant !== undefined && askedVariant !== 'simple' && askedVariant !== 'tiled') throw new RangeError(`--variant must be simple or tiled, got ${askedVariant}`);

const t0 = performance.now();
const ctx = await acquireDevice();
const info = ctx.adapter.info;
const limits = Object.fromEntries(
  ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension'].map((k) => [k, (ctx.device.limits as unknown as Record<string, number>)[k]]),
);
const report = {
  date: new Date().toISOString(),
  node: process.version,
  machine: { cpu: cpus()[0]?.model ?? '?', cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), loadavg: loadavg() },
  adapter: {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallback: ctx.info.isFallback,
    /** The kernels every row ran (each row repeats it, with how its f16 weights were read). */
    variant: (askedVariant as KernelVariant | undefined) ?? chooseVariant(ctx.info),
    features: [...ctx.device.features].sort(),
    limits,
  },
  roofline: null as Awaited<ReturnType<typeof measureRoofline>> | null,
  decode: [] as ProfileRow[],
  prefill: [] as PrefillRow[],
  errors: [] as string[],
  seconds: 0,
};
const save = () => {
  report.seconds = (performance.now() - t0) / 1000;
  writeFileSync(jsonPath, JSON.stringify(report, null, 1) + '\n');
};
console.log(JSON.stringify(report.adapter));
save();

report.roofline = quick ? await measureRoofline(ctx.device, 64, 1) : await measureRoofline(ctx.device);
console.log(JSON.stringify({ roofline: report.roofline }));
save();

const shapes: ['SmolLM2-135M' | 'Llama-3.2-1B', DType[], number[]][] = quick ? [['SmolLM2-135M', ['q8_0'], [64]]] : [['SmolLM2-135M', ['f16', 'q8_0', 'q4_0'], [512, 2048, 8192]]];
if (!quick && flag('--full')) shapes.push(['Llama-3.2-1B', ['q8_0', 'f16'], [512, 2048]]);
const timing = quick ? { decodeTokens: 2, rounds: 1, profileRounds: 1 } : { decodeTokens: 8, rounds: 3, profileRounds: 3 };
for (const [name, dtypes, contexts] of shapes) {
  for (const dtype of dtypes) {
    try {
      const model = syntheticModel(name, dtype);
      await profileDecode(ctx, name, dtype, model, contexts, { ...timing, rooflineGBs: report.roofline.best, variant: report.adapter.variant }, (r) => {
        report.decode.push(r);
        console.log(JSON.stringify(r));
        save();
      });
      await profilePrefill(ctx, name, dtype, model, { tokens: quick ? 8 : 512, rounds: timing.rounds, profileRounds: timing.profileRounds, variant: report.adapter.variant }, (r) => {
        report.prefill.push(r);
        console.log(JSON.stringify(r));
        save();
      });
    } catch (e) {
      // One shape failing (e.g. out of memory) leaves the others measured.
      report.errors.push(`${name} ${dtype}: ${(e as Error).stack ?? e}`);
      console.error(report.errors.at(-1));
      save();
    }
  }
}
save();
console.log(`wrote ${jsonPath} (${report.seconds.toFixed(0)} s)`);
process.exit(report.errors.length ? 1 : 0);
