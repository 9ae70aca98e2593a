/**
 * `npm run bench:gpu`: builds .gpu/, a self-contained package of the benchmark (bench/gpu.ts) for a
 * Linux x86-64 machine with a GPU and a Vulkan driver but no network, no npm and possibly no Node
 * (shared/docs/gpu-machine.md):
 *   .gpu/bench.mjs                     the benchmark, one ES module (shaders inlined)
 *   .gpu/node_modules/webgpu/          Dawn: the package's JS entry and linux-x64/dawn.node
 *   .gpu/lib/libvulkan.so.1            this machine's Vulkan loader (the GPU machine may lack one)
 *   .gpu/node.xz                       this machine's Node binary, xz-compressed (--no-node: leave it
 *                                      out and supply one there as .gpu/node)
 *   .gpu/run.sh, .gpu/README.txt       the one command to run there, and how
 * Options: --out DIR (default .gpu), --no-node. The total must stay within 64 MiB; it is printed.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = resolve(root, outAt >= 0 ? args[outAt + 1] : '.gpu');
const withNode = !args.includes('--no-node');
const LIMIT = 64 * 2 ** 20;

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'lib'), { recursive: true });

// shaders.ts reads shaders/*.wgsl from disk next to itself under tsx; in the bundle they are inlined.
const shaderDir = join(root, 'shaders');
const shaders = Object.fromEntries(readdirSync(shaderDir).filter((f) => f.endsWith('.wgsl')).map((f) => [f.slice(0, -5), readFileSync(join(shaderDir, f), 'utf8')]));
const inlineShaders = {
  name: 'inline-shaders',
  setup(b) {
    b.onLoad({ filter: /src[\\/]gpu[\\/]shaders\.ts$/ }, () => ({
      loader: 'js',
      contents: `const S = ${JSON.stringify(shaders)};
export function shaderSource(name) {
  const s = S[name];
  if (s === undefined) throw new Error('no shader named "' + name + '"');
  return s;
}`,
    }));
  },
};
await build({
  entryPoints: [join(root, 'bench/gpu.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  outfile: join(out, 'bench.mjs'),
  plugins: [inlineShaders],
  logLevel: 'warning',
});

// Dawn: the package entry resolves dist/<platform>-<arch>/dawn.node next to itself.
const webgpu = join(root, 'node_modules/webgpu');
const dawnDir = join(out, 'node_modules/webgpu/dist/linux-x64');
mkdirSync(dawnDir, { recursive: true });
for (const f of ['package.json', 'index.js', 'LICENSE.md']) copyFileSync(join(webgpu, f), join(out, 'node_modules/webgpu', f));
copyFileSync(join(webgpu, 'dist/linux-x64/dawn.node'), join(dawnDir, 'dawn.node'));

const loader = ['/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].find(existsSync);
if (loader) copyFileSync(loader, join(out, 'lib/libvulkan.so.1'));
else console.warn('no libvulkan.so.1 here: the package relies on the GPU machine\'s Vulkan loader');

if (withNode) writeFileSync(join(out, 'node.xz'), execFileSync('xz', ['-T2', '-6', '-c', process.execPath], { maxBuffer: 256 * 2 ** 20 }));

writeFileSync(
  join(out, 'run.sh'),
  `#!/bin/sh
# Runs the packaged benchmark: sh .gpu/run.sh [RESULTS_DIR] [--quick] [--full] [--variant simple|tiled]
# Writes RESULTS_DIR/bench-gpu.json (rewritten after every row) and RESULTS_DIR/log.txt.
set -e
here=$(cd "$(dirname "$0")" && pwd)
results=\${1:-.}
[ $# -gt 0 ] && shift
mkdir -p "$results"
# Our Vulkan loader when the machine has none; the NVIDIA driver's ICD when it ships one there.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then export LD_LIBRARY_PATH="$here/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "\${VK_DRIVER_FILES:-}\${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
done
node=\${NODE:-}
if [ -z "$node" ]; then
  if [ -x "$here/node" ]; then node="$here/node"
  elif [ -f "$here/node.xz" ]; then xz -dc "$here/node.xz" > "$here/node" && chmod +x "$here/node" && node="$here/node"
  else node=$(command -v node); fi
fi
echo "node $("$node" --version), VK_DRIVER_FILES=\${VK_DRIVER_FILES:-default}" | tee "$results/log.txt"
cd "$here"
"$node" bench.mjs --json "$results/bench-gpu.json" "$@" 2>&1 | tee -a "$results/log.txt"
`,
);
chmodSync(join(out, 'run.sh'), 0o755);
writeFileSync(
  join(out, 'README.txt'),
  `D2O-WebGPU benchmark package (built by npm run bench:gpu; see shared/docs/gpu-machine.md).

Needs: Linux x86-64, a Vulkan driver for the GPU (the NVIDIA driver's ICD is found in the usual
places, or set VK_DRIVER_FILES), and Node >= 20: the package carries this machine's Node as node.xz
(unpacked by run.sh with xz); without it, put a Node binary at .gpu/node or set NODE=/path/to/node.
No network and no npm are needed: Dawn (node_modules/webgpu) and a Vulkan loader (lib/) travel here.

Run:   sh .gpu/run.sh RESULTS_DIR            (add --quick for a 1-minute check, --full for Llama-3.2-1B too)
       A GPU runs the tiled kernels, f16 weights as native f16 where the adapter has shader-f16;
       add --variant simple to measure the software-adapter kernels there too. Every decode and
       prefill row records its variant and f16 mode.
Writes RESULTS_DIR/bench-gpu.json: the adapter's name, features and limits, the streaming-read
roofline, per dtype and context decode tok/s, CPU-ms per token, dispatches per token and layer, GPU
ms per kernel group (timestamp queries), the matvecs' GB/s against the roofline, and prefill tok/s
with the matmuls' GFLOP/s. The file is rewritten after each row.
`,
);

const size = (p) => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, f) => s + size(join(p, f)), 0) : statSync(p).size);
const total = size(out);
console.log(`${out}: ${(total / 2 ** 20).toFixed(1)} MiB${withNode ? '' : ' (no Node binary)'}`);
if (total > LIMIT) {
  console.error(`the package is over ${LIMIT / 2 ** 20} MiB`);
  process.exit(1);
}
