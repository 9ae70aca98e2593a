import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli';
import { golden, modelsDir } from '../helpers/models';

describe('cli --backend webgpu', () => {
  it('generate prints the TinyStories-656K golden ids', () => {
    const r = cli('generate', '--model', join(modelsDir, 'tinystories-656k'), '--backend', 'webgpu', '--prompt-ids', '1', '--max-tokens', '200', '--greedy', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ids).toEqual(golden['tinystories-656k'].greedy_ids);
  });
});
