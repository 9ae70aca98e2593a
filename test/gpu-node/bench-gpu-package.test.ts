/**
 * `npm run bench:gpu`'s package runs from a copy of itself alone (no repository, no node_modules of
 * ours): built without the Node binary (the slow part, xz of ~100 MB), then run here with this
 * Node on the test adapter with --quick. Checks the JSON a GPU machine would bring back.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/scratch';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('npm run bench:gpu', () => {
  it('builds a package under 64 MiB that runs on its own and writes the adapter, roofline, decode and prefill figures', () => {
    const dir = scratchDir('d2o-gpu-pkg-');
    const pkg = join(dir, 'pkg');
    const b = spawnSync(process.execPath, ['scripts/bench-gpu-package.mjs', '--out', pkg, '--no-node'], { cwd: root, encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    const mib = Number(/: ([\d.]+) MiB/.exec(b.stdout)?.[1]);
    expect(mib).toBeGreaterThan(1);
    expect(mib).toBeLessThan(64);
    for (const f of ['bench.mjs', 'run.sh', 'README.txt', 'node_modules/webgpu/dist/linux-x64/dawn.node']) expect(existsSync(join(pkg, f)), f).toBe(true);

    const results = join(dir, 'results');
    // A bare environment: only this Node and the system's tools on PATH, run from elsewhere.
    // --variant tiled: the kernels a GPU runs (lavapipe has shader-f16, so its f16 weights read native f16).
    const r = spawnSync('sh', [join(pkg, 'run.sh'), results, '--quick', '--variant', 'tiled'], { cwd: dir, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: dir, NODE: process.execPath } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(results, 'bench-gpu.json'), 'utf8'));
    expect(report.adapter.vendor).toBeTypeOf('string');
    expect(report.adapter.features).toContain('timestamp-query');
    expect(report.roofline.best).toBeGreaterThan(0);
    expect(report.errors).toEqual([]);
    expect(report.decode).toHaveLength(1);
    expect(report.decode[0]).toMatchObject({ model: 'SmolLM2-135M', dtype: 'q8_0', context: 64 });
    expect(report.decode[0].matvecGBs).toBeGreaterThan(0);
    // Which kernels ran and how f16 weights were read (native only on tiled with shader-f16).
    expect(report.adapter.variant).toBe('tiled');
    const f16 = report.adapter.features.includes('shader-f16') ? 'native' : 'packed';
    for (const row of [report.decode[0], report.prefill[0]]) expect(row).toMatchObject({ variant: report.adapter.variant, f16 });
    expect(report.prefill).toHaveLength(1);
    expect(report.prefill[0].matmulGFlops).toBeGreaterThan(0);
    expect(readFileSync(join(results, 'log.txt'), 'utf8')).toContain('wrote');
  }, 300_000);
});
