import { describe, expect, it } from 'vitest';
import { cycles, importGraph, layerViolations } from '../../scripts/check-layers';

describe('import graph of src/', () => {
  const graph = importGraph();

  it('sees the whole source tree', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect([...graph.values()].flat().length).toBeGreaterThan(100);
  });

  it('has no circle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('imports only downwards (errors/util < model < tokenizer, math < kv < backend < cpu, gpu < engine < eval, cli, index)', () => {
    expect(layerViolations(graph)).toEqual([]);
  });
});
