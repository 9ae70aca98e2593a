// `npm test`: the unit, Node-GPU and browser suites in turn (one at a time: the machine has 2
// cores), then one closing line `N passed, N failed` summed over all of them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const deps = spawnSync('bash', ['scripts/install-system-deps.sh'], { stdio: 'inherit' });
if (deps.status !== 0) {
  console.error('system packages for the GPU tests are missing (see above)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const only = process.argv.slice(2);
const projects = ['unit', 'gpu-node', 'browser'].filter((p) => only.length === 0 || only.includes(p));
const dir = mkdtempSync(join(tmpdir(), 'd2o-test-'));
let passed = 0;
let failed = 0;
let skipped = 0;
for (const project of projects) {
  const out = join(dir, `${project}.json`);
  const r = spawnSync('npx', ['vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`], {
    stdio: 'inherit',
    env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
  });
  if (!existsSync(out)) {
    console.error(`the ${project} suite did not run (exit ${r.status ?? r.signal})`);
    failed++;
    continue;
  }
  const j = JSON.parse(readFileSync(out, 'utf8'));
  passed += j.numPassedTests;
  failed += j.numFailedTests;
  skipped += j.numPendingTests + j.numTodoTests;
  // A crashed worker or a failing file with no test counted still fails the run.
  if (r.status !== 0 && j.numFailedTests === 0) failed++;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
