/**
 * Getting a WebGPU device in a browser (navigator.gpu) or in Node (Dawn through the `webgpu` npm
 * package), with the adapter's largest limits and the optional features the kernels can use.
 *
 * Every failure to get a device is a NoWebGPUError whose message says what is missing and how to
 * get it (the two software routes: shared/docs/webgpu-without-a-gpu.md, beside the checkout).
 */
import { chooseVariant, type KernelVariant } from './variant';
import { DeviceLostError, NoWebGPUError } from '../errors';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  /** A software (CPU) adapter: lavapipe, SwiftShader, WARP. Kernels pick barrier-free variants. */
  isFallback: boolean;
  /** The device has 'shader-f16' (never on SwiftShader). */
  hasF16: boolean;
  /** The device has 'subgroups'. */
  hasSubgroups: boolean;
  /** The device's limits (the adapter's maxima for those we request, defaults otherwise). */
  limits: GPUSupportedLimits;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterInfo;
  /** Resolves when the device is lost (never, for a healthy session; also on device.destroy()). */
  lost: Promise<DeviceLostError>;
}

export interface AcquireOptions {
  /** Default 'high-performance'. */
  powerPreference?: GPUPowerPreference;
  /** Features that must be there: a NoWebGPUError names those the adapter lacks. */
  requiredFeatures?: GPUFeatureName[];
  /**
   * Called with every error no error scope caught (a validation error is a bug in a kernel
   * wrapper). Default: console.error, once per distinct message.
   */
  onUncapturedError?: (error: GPUError) => void;
}

/** Requested when the adapter has them; `info` says which the device got. */
const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as GPUFeatureName[];

/** Limits raised to the adapter's maximum (defaults are far too small for LLM weights). */
const MAX_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
] as const;

/** Running under Node (tsx, vitest, the CLI), not a browser page or worker. */
const isNode =
  typeof process !== 'undefined' && !!(process as { versions?: { node?: string } }).versions?.node && typeof window === 'undefined';

// Dawn tears down its instance when this object is collected, which crashes live devices: keep it.
let nodeGpu: GPU | undefined;

async function getGpu(): Promise<GPU> {
  // Node 21+ has a `navigator`, without `gpu`; browsers without WebGPU fall through to the error.
  if (typeof navigator !== 'undefined' && navigator.gpu) return navigator.gpu;
  if (isNode) return nodeWebGpu();
  throw new NoWebGPUError(browserMissingGpu());
}

async function nodeWebGpu(): Promise<GPU> {
  if (nodeGpu) return nodeGpu;
  // Loaded through Node's own require (require(esm), Node >= 20.19), never an import: no browser
  // bundler or dev server sees a `webgpu` import to resolve, and this branch never runs there.
  const { createRequire } = process.getBuiltinModule('node:module') as typeof import('node:module');
  let mod: { create(flags: string[]): GPU; globals: object };
  try {
    mod = createRequire(import.meta.url)('webgpu');
  } catch (e) {
    throw new NoWebGPUError(
      `WebGPU in Node needs the "webgpu" package (Dawn), an optional peer dependency of d2o-webgpu: ` +
        `install it with \`npm install webgpu\` (${(e as Error).message.split('\n')[0]}); or use backend: 'cpu'`,
      { cause: e },
    );
  }
  // GPUBufferUsage, GPUMapMode, ... as in a browser.
  Object.assign(globalThis, mod.globals);
  // Unrounded timestamps (Dawn otherwise quantizes them to 65.5 us, a browser fingerprinting guard
  // that makes per-kernel profiles useless).
  nodeGpu = mod.create(['disable-dawn-features=timestamp_quantization']);
  return nodeGpu;
}

function browserMissingGpu(): string {
  const secure = typeof isSecureContext === 'undefined' || isSecureContext;
  if (!secure)
    return (
      'navigator.gpu is missing because this page is not a secure context: serve it over https, or from ' +
      'http://localhost or http://127.0.0.1'
    );
  return (
    'navigator.gpu is missing: this browser has no WebGPU (use a recent Chrome, Edge or Safari; Chromium on ' +
    'Linux needs --enable-unsafe-webgpu and a secure context)'
  );
}

/** What to install when Dawn finds no adapter (Node only: reads a few well-known paths). */
export function nodeAdapterHint(): string {
  const fs = (process as { getBuiltinModule?(id: string): unknown }).getBuiltinModule?.('node:fs') as typeof import('node:fs') | undefined;
  const install =
    'on Debian 12 run as root: bash scripts/install-system-deps.sh (adds bookworm-backports, then ' +
    'apt-get install -y -t bookworm-backports mesa-vulkan-drivers)';
  if (!fs) return `Dawn needs libvulkan.so.1 and a Vulkan driver such as Mesa lavapipe; ${install}`;
  const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];
  const hasLoader = libDirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`));
  const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];
  const icds = icdDirs.flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d) : []));
  const hasLavapipe = icds.some((n) => n.startsWith('lvp_icd'));
  const icdEnv = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
  if (icdEnv) return `no Vulkan driver Dawn accepts among VK_ICD_FILENAMES/VK_DRIVER_FILES=${icdEnv} (unset it, or point it at lavapipe's lvp_icd json); ${install}`;
  if (!hasLoader) return `libvulkan.so.1 (the Vulkan loader Dawn opens) is missing: ${install}`;
  if (!hasLavapipe && icds.length === 0) return `no Vulkan driver is installed (no ICD in ${icdDirs.join(' or ')}): ${install}`;
  return (
    'Dawn rejected every Vulkan driver present (Debian 12\'s own Mesa 22.3 lavapipe lacks ' +
    `shaderUniform*ArrayDynamicIndexing; bookworm-backports Mesa 25 works): ${install}`
  );
}

export async function acquireDevice(opts: AcquireOptions = {}): Promise<GpuContext> {
  const gpu = await getGpu();
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw new NoWebGPUError(`requestAdapter() failed: ${(e as Error).message}`, { cause: e });
  }
  if (!adapter)
    throw new NoWebGPUError(
      'no WebGPU adapter (requestAdapter() returned null): ' +
        (isNode
          ? nodeAdapterHint()
          : 'the GPU is missing or blocklisted; software adapters (SwiftShader) need Chromium started with ' +
            '--enable-unsafe-webgpu, and the page must be a secure context (https or http://localhost)'),
    );

  const missing = (opts.requiredFeatures ?? []).filter((f) => !adapter.features.has(f));
  if (missing.length)
    throw new NoWebGPUError(
      `the WebGPU adapter (${adapter.info?.vendor ?? '?'} ${adapter.info?.architecture ?? '?'}) lacks required feature(s): ${missing.join(', ')}`,
    );
  const requiredFeatures = [...new Set([...(opts.requiredFeatures ?? []), ...OPTIONAL_FEATURES.filter((f) => adapter.features.has(f))])];

  const requiredLimits: Record<string, number> = {};
  const l = adapter.limits as unknown as Record<string, number | undefined>;
  for (const name of MAX_LIMITS) if (typeof l[name] === 'number') requiredLimits[name] = l[name];

  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    throw new NoWebGPUError(`the WebGPU adapter refused a device (features ${requiredFeatures.join(', ') || 'none'}): ${(e as Error).message}`, {
      cause: e,
    });
  }

  const seen = new Set<string>();
  const onError =
    opts.onUncapturedError ??
    ((e: GPUError) => {
      if (seen.has(e.message)) return;
      seen.add(e.message);
      console.error(`[d2o] uncaptured WebGPU error: ${e.message}`);
    });
  device.addEventListener('uncapturederror', (ev) => onError((ev as GPUUncapturedErrorEvent).error));

  const lost = device.lost.then(
    (i) => new DeviceLostError(`the GPU device was lost (${i.reason}): ${i.message || 'no message'}; create a new engine`, i.reason),
  );
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  return {
    device,
    adapter,
    lost,
    info: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      isFallback:
        (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
      hasF16: device.features.has('shader-f16'),
      hasSubgroups: device.features.has('subgroups' as GPUFeatureName),
      limits: device.limits,
    },
  };
}

/** What a kernel wrapper is built on: the engine's GpuContext, or a bare device (tests, benchmarks). */
export type GpuTarget = GpuContext | GPUDevice;

function isGpuContext(x: GpuTarget): x is GpuContext {
  return (x as GpuContext).device !== undefined && (x as GpuContext).info !== undefined;
}

export function deviceOf(x: GpuTarget): GPUDevice {
  return isGpuContext(x) ? x.device : x;
}

/** The variant asked for, else the adapter's (`chooseVariant`); 'simple' on a bare device, whose adapter is unknown. */
export function variantOf(x: GpuTarget, asked?: KernelVariant): KernelVariant {
  return asked ?? (isGpuContext(x) ? chooseVariant(x.info) : 'simple');
}
