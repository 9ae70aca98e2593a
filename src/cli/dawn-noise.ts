/**
 * Dawn prints "Warning: maxDynamic... artificially reduced from ... to ..." from native code straight
 * to file descriptor 2 when an adapter (Mesa lavapipe, SwiftShader) reports limits beyond what Dawn
 * can use: noise to a CLI user, and out of JavaScript's reach (no stream or console call to wrap).
 * A WebGPU run of the CLI therefore runs itself again as a child with stderr piped and drops exactly
 * those lines; everything else, real errors and Dawn's other messages, passes through unchanged.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const NOISE = /^Warning: \w+ artificially reduced from \d+ to \d+\b/;
const CHILD = 'D2O_CLI_CHILD';

/** Whether `line` is Dawn's limit notice (and nothing else). */
export function isDawnLimitNotice(line: string): boolean {
  return NOISE.test(line);
}

/**
 * In the parent: runs this CLI again as a child (same Node flags and arguments, stdin and stdout
 * inherited) and resolves to its exit code. In the child: null (run normally).
 */
export function runFilteringDawnNoise(): Promise<number> | null {
  if (process.env[CHILD]) return null;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: ['inherit', 'inherit', 'pipe'], env: { ...process.env, [CHILD]: '1' } });
    createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
      if (!isDawnLimitNotice(line)) process.stderr.write(line + '\n');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
