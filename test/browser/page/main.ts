/**
 * The browser test page: `window.runCase(module, fn, args)` imports `module` (a path from the project
 * root, through Vite) and returns `module[fn](ctx, ...args)` with this page's GpuContext. Nothing to
 * register: a new case is an exported function in a module (see test/helpers/browser.ts).
 */
import { acquireDevice, type GpuContext } from '../../../src/gpu/device';

let ctx: Promise<GpuContext> | undefined;
const device = () => (ctx ??= acquireDevice());

declare global {
  interface Window {
    runCase(module: string, fn: string, args: unknown[]): Promise<unknown>;
    adapterInfo(): Promise<{ vendor: string; architecture: string; isFallback: boolean; hasF16: boolean; hasSubgroups: boolean }>;
  }
}

window.runCase = async (module, fn, args) => {
  const mod = (await import(/* @vite-ignore */ module)) as Record<string, unknown>;
  const f = mod[fn];
  if (typeof f !== 'function') throw new Error(`${module} exports no function named ${fn}`);
  return f(await device(), ...args);
};
window.adapterInfo = async () => {
  const { info } = await device();
  return { vendor: info.vendor, architecture: info.architecture, isFallback: info.isFallback, hasF16: info.hasF16, hasSubgroups: info.hasSubgroups };
};
document.title = 'ready';
