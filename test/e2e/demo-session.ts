/**
 * The demo end to end: a Vite dev server started the way `npm run demo` starts it (root demo/,
 * this project's vite.config.ts, so /models/ serves the shared models) and Debian's Chromium on
 * SwiftShader driven by playwright-core, with the flags the browser tests use.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { openSession } from '../helpers/browser';

export const ROOT = resolve(import.meta.dirname, '../..');
/** Screenshots land here (git-ignored). */
export const ARTIFACTS = join(ROOT, 'test-results/e2e');

export interface DemoSession {
  page: Page;
  context: BrowserContext;
  baseUrl: string;
  /** Uncaught page errors and console errors so far. */
  errors: string[];
  /** A full-page screenshot at the given viewport, saved under test-results/e2e/. */
  screenshot(name: string, viewport?: { width: number; height: number }): Promise<string>;
  close(): Promise<void>;
}

export async function openDemo(): Promise<DemoSession> {
  const s = await openSession({
    server: {
      root: join(ROOT, 'demo'),
      configFile: join(ROOT, 'vite.config.ts'),
      // Its own pre-bundled dependencies: a browser-test server started meanwhile (another root, so
      // another config hash) would otherwise rewrite them under this page ("504 Outdated Optimize Dep").
      cacheDir: join(ROOT, 'node_modules/.vite-e2e'),
    },
    viewport: { width: 1280, height: 800 },
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  const screenshot = async (name: string, viewport = { width: 1280, height: 800 }) => {
    await s.page.setViewportSize(viewport);
    // Let the layout, the ResizeObserver redraw of the KV map and transitions settle.
    await s.page.waitForTimeout(400);
    const path = join(ARTIFACTS, `${name}-${viewport.width}x${viewport.height}.png`);
    await s.page.screenshot({ path, fullPage: true });
    return path;
  };
  return { ...s, screenshot };
}

/** Opens the demo page and waits until it has listed the models and checked WebGPU. */
export async function gotoDemo(s: DemoSession, query = ''): Promise<void> {
  const ready = async () => {
    await s.page.goto(`${s.baseUrl}/${query}`);
    await s.page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 90_000 });
  };
  try {
    await ready();
  } catch (e) {
    // Vite reloads the page once when it pre-bundles a dependency it discovers late: go again.
    if (!/Execution context was destroyed|navigation|Timeout/i.test((e as Error).message)) throw e;
    await ready();
  }
}
