/** Scratch folders under the system temp folder that do not outlive the tests that make them. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

/**
 * A new folder `<tmp>/<prefix>XXXXXX`, removed when the test that asked for it ends, or, asked for
 * while the file's tests are collected (a describe body or the module), after them. Not from a
 * beforeAll hook: a hook registered there is ignored, so the folder would stay.
 */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    onTestFinished(remove);
  } catch {
    afterAll(remove);
  }
  return dir;
}
