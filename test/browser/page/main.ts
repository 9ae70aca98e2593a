/** The browser test page: runs a shared test case (test/cases/*.ts) on this page's WebGPU device. */
import { acquireDevice, type GpuContext } from '../../../src/gpu/device';

let ctx: Promise<GpuContext> | undefined;

declare global {
  interface Window {
    runCase(module: string, fn: string, args: unknown[]): Promise<unknown>;
    adapterInfo(): Promise<unknown>;
  }
}

window.runCase = async (module, fn, args) => {
  ctx ??= acquireDevice();
  const mod = await import(/* @vite-ignore */ module);
  return mod[fn](await ctx, ...args);
};
window.adapterInfo = async () => {
  ctx ??= acquireDevice();
  const { info } = await ctx;
  return { vendor: info.vendor, architecture: info.architecture, isFallback: info.isFallback, hasF16: info.hasF16 };
};
document.title = 'ready';
