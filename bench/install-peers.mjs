// `npm run bench:peers`, first step: node-llama-cpp and its prebuilt CPU binaries for this platform
// into node_modules/.peers, outside the project's dependencies (npm ci and npm test never need it).
// Optional packages are left out so no CUDA or Vulkan build comes along, and install scripts are
// skipped: the prebuilt binary package is all that runs, nothing is built or downloaded at run time.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const VERSION = '3.22.1';
const BINARIES = { 'linux-x64': 'linux-x64', 'linux-arm64': 'linux-arm64', 'darwin-arm64': 'mac-arm64-metal', 'darwin-x64': 'mac-x64', 'win32-x64': 'win-x64', 'win32-arm64': 'win-arm64' };

const prefix = resolve(import.meta.dirname, '../node_modules/.peers');
const binaries = BINARIES[`${process.platform}-${process.arch}`];
if (!binaries) {
  console.error(`node-llama-cpp has no prebuilt binaries for ${process.platform}-${process.arch}`);
  process.exit(1);
}
const installed = resolve(prefix, 'node_modules/node-llama-cpp/package.json');
if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === VERSION && existsSync(resolve(prefix, `node_modules/@node-llama-cpp/${binaries}`))) {
  console.log(`node-llama-cpp ${VERSION} is in ${prefix}`);
  process.exit(0);
}
const args = ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', `node-llama-cpp@${VERSION}`, `@node-llama-cpp/${binaries}@${VERSION}`];
console.log(`npm ${args.join(' ')}`);
const r = spawnSync('npm', args, { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(r.status ?? 1);
