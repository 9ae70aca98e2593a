import { acquireDevice, type GpuContext } from '../../src/gpu/device';

let ctx: Promise<GpuContext> | undefined;

/**
 * The Node test device (Dawn on Mesa lavapipe here). With no adapter the test fails, never skips,
 * and says exactly what is missing.
 */
export function getTestDevice(): Promise<GpuContext> {
  ctx ??= acquireDevice().catch((e: Error) => {
    throw new Error(
      `GPU tests need a WebGPU adapter and none was found (${e.message}). ` +
        'On Debian 12 run: sudo bash scripts/install-system-deps.sh (installs mesa-vulkan-drivers from bookworm-backports).',
      { cause: e },
    );
  });
  return ctx;
}
