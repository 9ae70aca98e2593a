/** Getting a WebGPU device in a browser (navigator.gpu) or in Node (Dawn through the `webgpu` package). */
import { DeviceLostError, NoWebGPUError } from '../errors';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  isFallback: boolean;
  hasF16: boolean;
  hasSubgroups: boolean;
  limits: GPUSupportedLimits;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterInfo;
  /** Resolves when the device is lost (never, for a healthy session). */
  lost: Promise<DeviceLostError>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

let nodeGpu: GPU | undefined;

async function getGpu(): Promise<GPU> {
  if (typeof navigator !== 'undefined' && navigator.gpu) return navigator.gpu;
  if (isNode) {
    // A variable specifier keeps bundlers from pulling Dawn into browser builds.
    const pkg = 'webgpu';
    let mod: { create(flags: string[]): GPU; globals: object };
    try {
      mod = await import(/* @vite-ignore */ pkg);
    } catch (e) {
      throw new NoWebGPUError(`the "webgpu" npm package (Dawn for Node) could not be loaded: ${(e as Error).message}`, { cause: e });
    }
    Object.assign(globalThis, mod.globals);
    // Dawn tears down its instance when this object is collected, crashing live devices: keep it.
    nodeGpu ??= mod.create([]);
    return nodeGpu;
  }
  throw new NoWebGPUError(
    'this browser has no WebGPU (navigator.gpu is missing): use a recent Chrome, Edge or Safari, served over https or from localhost',
  );
}

export async function acquireDevice(opts: { powerPreference?: GPUPowerPreference } = {}): Promise<GpuContext> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter)
    throw new NoWebGPUError(
      isNode
        ? 'no WebGPU adapter: Dawn needs a Vulkan driver; on Debian 12 install mesa-vulkan-drivers from bookworm-backports (scripts/install-system-deps.sh)'
        : 'no WebGPU adapter: the GPU may be blocklisted (software adapters need Chromium flag --enable-unsafe-webgpu)',
    );
  const want: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query'];
  const requiredFeatures = want.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures,
      requiredLimits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      },
    });
  } catch (e) {
    throw new NoWebGPUError(`the WebGPU adapter refused a device: ${(e as Error).message}`, { cause: e });
  }
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const lost = device.lost.then((i) => new DeviceLostError(`the GPU device was lost (${i.reason}): ${i.message}; create a new engine`, i.reason));
  return {
    device,
    adapter,
    lost,
    info: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      isFallback: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
      hasF16: device.features.has('shader-f16'),
      hasSubgroups: device.features.has('subgroups' as GPUFeatureName),
      limits: device.limits,
    },
  };
}
