/** Typed errors keep their names whatever a minifier does to class names, and cross the worker boundary whole. */
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors';
import { ContextOverflowError, D2OError, GatedModelError, LoadError, ModelFormatError } from '../../src/errors';
import { deserializeError, serializeError } from '../../src/engine/worker-protocol';

const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function' && (v === D2OError || v.prototype instanceof D2OError));

describe('typed errors', () => {
  it('each class states its own name, equal to its exported name', () => {
    expect(classes.length).toBeGreaterThanOrEqual(9);
    for (const [exported, C] of classes) {
      expect(Object.hasOwn(C.prototype, 'name'), exported).toBe(true);
      expect(C.prototype.name).toBe(exported);
    }
    const e = new ModelFormatError('missing-file', 'not found', 'config.json');
    expect(e.name).toBe('ModelFormatError');
    expect(String(e)).toBe('ModelFormatError: config.json: not found');
    expect(e.stack).toMatch(/^ModelFormatError: config.json: not found/);
  });

  it('cross the worker boundary (structured clone) with their class and fields', () => {
    const cases: Error[] = [
      new ModelFormatError('missing-file', 'not found', 'config.json'),
      new ContextOverflowError('too long', 3000, 2048),
      new GatedModelError('gated', 'meta-llama/Llama-3.2-1B', 401),
      new LoadError('HTTP 500'),
    ];
    for (const original of cases) {
      const back = deserializeError(structuredClone(serializeError(original)));
      expect(back.constructor).toBe(original.constructor);
      expect(back).toBeInstanceOf(D2OError);
      expect(back.name).toBe(original.name);
      expect(back.message).toBe(original.message);
      expect({ ...back }).toEqual({ ...original });
    }
    const gated = deserializeError(serializeError(new GatedModelError('gated', 'o/r', 403)));
    expect(gated).toBeInstanceOf(LoadError);
    expect(gated).toMatchObject({ repo: 'o/r', status: 403 });
    expect(deserializeError(serializeError(new RangeError('bad budget')))).toBeInstanceOf(RangeError);
    const plain = deserializeError(serializeError(new Error('boom')));
    expect([plain.constructor, plain.message]).toEqual([D2OError, 'boom']);
  });
});
