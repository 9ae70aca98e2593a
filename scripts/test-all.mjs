// `npm test`: the vitest projects unit, gpu-node, browser and e2e, one after another (the machine has 2
// cores; lavapipe and SwiftShader use both), each with the default reporter on the console and the
// JSON reporter to a temp file. Ends with exactly one line `N passed, N failed` (`, N skipped` when
// nonzero) summed over all of them; exits non-zero when anything failed or a project could not run.
//
// Before a GPU project its system packages are checked (scripts/install-system-deps.sh --check):
// as root, missing ones are installed with the Debian 12 recipes; otherwise the project fails with
// the exact command to run. `npm test -- gpu-node browser` runs only the projects named.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const ALL = ['unit', 'gpu-node', 'browser', 'e2e'];
/** System packages per project (components of install-system-deps.sh). */
const PREREQS = { 'gpu-node': 'vulkan', browser: 'chromium', e2e: 'chromium' };

const only = process.argv.slice(2);
const unknown = only.filter((p) => !ALL.includes(p));
const projects = ALL.filter((p) => only.length === 0 || only.includes(p));
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const dir = mkdtempSync(join(tmpdir(), 'd2o-test-'));
const log = (s) => console.log(`[test-all] ${s}`);

let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];

if (unknown.length) {
  log(`unknown project(s): ${unknown.join(', ')} (known: ${ALL.join(', ')})`);
  failed += unknown.length;
}
if (!existsSync(vitest)) {
  log('vitest is not installed: run npm ci');
  failed += Math.max(1, projects.length);
  projects.length = 0;
}

/** null when the project's system packages are there (installing them as root), else why not. */
function prerequisites(project) {
  const component = PREREQS[project];
  if (!component) return null;
  const script = join(root, 'scripts/install-system-deps.sh');
  const check = spawnSync('bash', [script, '--check', component], { encoding: 'utf8' });
  if (check.status === 0) return null;
  if (process.getuid?.() === 0) {
    log(`${project}: installing missing system packages (${component})`);
    const install = spawnSync('bash', [script, component], { stdio: 'inherit' });
    if (install.status === 0) return null;
    return `installing the system packages for ${project} failed (bash scripts/install-system-deps.sh ${component}, exit ${install.status})`;
  }
  return (check.stderr || check.stdout).trim() || `bash scripts/install-system-deps.sh --check ${component} failed`;
}

for (const project of projects) {
  const t0 = performance.now();
  const why = prerequisites(project);
  if (why) {
    console.error(why);
    log(`${project}: could not run (system packages missing, see above)`);
    lines.push(`${project}: could not run`);
    failed++;
    continue;
  }
  const out = join(dir, `${project}.json`);
  const r = spawnSync(process.execPath, [vitest, 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
  });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (!existsSync(out)) {
    log(`${project}: did not run (vitest exit ${r.status ?? r.signal})`);
    lines.push(`${project}: did not run (${secs} s)`);
    failed++;
    continue;
  }
  const j = JSON.parse(readFileSync(out, 'utf8'));
  let f = j.numFailedTests;
  // A file that failed outside any test (import error, failing hook) counts as one failure.
  for (const file of j.testResults ?? [])
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed')) f++;
  // Unhandled errors, a crashed worker, no test files: vitest fails with nothing counted.
  if (r.status !== 0 && f === 0) f = 1;
  const s = j.numPendingTests + j.numTodoTests;
  passed += j.numPassedTests;
  failed += f;
  skipped += s;
  lines.push(`${project}: ${j.numPassedTests} passed, ${f} failed${s ? `, ${s} skipped` : ''} (${secs} s)`);
}
rmSync(dir, { recursive: true, force: true });

for (const l of lines) log(l);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
