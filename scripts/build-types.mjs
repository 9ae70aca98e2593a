// The library's declarations (`npm run build` after `vite build`): tsc -p tsconfig.build.json into
// dist/types, then every relative specifier gets its file extension (`./engine/engine` ->
// `./engine/engine.js`, a folder -> `./tokenizer/index.js`). The sources import without extensions
// (bundler resolution); without this, TypeScript under `moduleResolution: node16/nodenext` cannot
// follow the declarations and silently types the whole API as `any`. The GPU* types the API mentions
// come from lib.dom (TypeScript >= 6) or from @webgpu/types (a dependency, for older versions).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = resolve(root, process.argv[2] ?? 'dist/types');
rmSync(out, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const files = readdirSync(out, { recursive: true }).filter((f) => f.endsWith('.d.ts')).map((f) => join(out, f));
const specifier = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}(?:\/[^'"]*)?)\2/g;
for (const file of files) {
  const dir = dirname(file);
  let text = readFileSync(file, 'utf8').replace(specifier, (all, lead, quote, spec) => {
    if (/\.js$/.test(spec)) return all;
    const base = spec.replace(/\/$/, '');
    const target = existsSync(join(dir, `${base}.d.ts`)) ? `${base}.js` : existsSync(join(dir, base, 'index.d.ts')) ? `${base}/index.js` : null;
    if (!target) throw new Error(`${file}: cannot resolve ${spec}`);
    return `${lead}${quote}${target}${quote}`;
  });
  writeFileSync(file, text);
}
// TypeScript >= 6 has the WebGPU types in lib.dom (and @webgpu/types would then clash with them);
// older versions take them from @webgpu/types through this entry (package.json: "types@<6").
writeFileSync(join(out, 'ts5.d.ts'), `/// <reference types="@webgpu/types" />\nexport * from './index.js';\n`);
console.log(`${files.length + 1} declaration files in ${out}`);
