/** acquireDevice in Node (Dawn): limits, features, lost and uncaptured errors, error messages. */
import { describe, expect, it } from 'vitest';
import { acquireDevice, nodeAdapterHint } from '../../src/gpu/device';
import { DeviceLostError, NoWebGPUError } from '../../src/errors';
import { getTestDevice } from '../helpers/gpu';

describe('acquireDevice (Node)', () => {
  it('gets the adapter maximum of the limits the kernels need, and its optional features', async () => {
    const { device, adapter, info } = await getTestDevice();
    for (const name of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage', 'maxComputeInvocationsPerWorkgroup'] as const)
      expect(device.limits[name], name).toBe(adapter.limits[name]);
    expect(info.limits).toBe(device.limits);
    expect(info.hasF16).toBe(adapter.features.has('shader-f16'));
    expect(info.hasSubgroups).toBe(adapter.features.has('subgroups' as GPUFeatureName));
    expect(typeof info.vendor).toBe('string');
    expect(typeof info.isFallback).toBe('boolean');
  });

  it('names required features the adapter lacks', async () => {
    await expect(acquireDevice({ requiredFeatures: ['no-such-feature' as GPUFeatureName] })).rejects.toThrow(NoWebGPUError);
    await expect(acquireDevice({ requiredFeatures: ['no-such-feature' as GPUFeatureName] })).rejects.toThrow(/lacks required feature\(s\): no-such-feature/);
  });

  it('reports uncaptured errors to the handler and resolves `lost` with a DeviceLostError', async () => {
    const errors: GPUError[] = [];
    const ctx = await acquireDevice({ onUncapturedError: (e) => errors.push(e) });
    ctx.device.createBuffer({ size: 4, usage: 0xffff });
    await ctx.device.queue.onSubmittedWorkDone();
    for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(errors.length).toBe(1);
    expect(errors[0].message).toMatch(/usage/i);
    ctx.device.destroy();
    const lost = await ctx.lost;
    expect(lost).toBeInstanceOf(DeviceLostError);
    expect(lost.reason).toBe('destroyed');
  });

  it('says what to install when no adapter is found', () => {
    expect(nodeAdapterHint()).toMatch(/install-system-deps\.sh.*bookworm-backports mesa-vulkan-drivers/);
  });
});
