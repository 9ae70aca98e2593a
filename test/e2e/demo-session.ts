/**
 * The demo end to end: a Vite dev server started the way `npm run demo` starts it (root demo/,
 * this project's vite.config.ts, so /models/ serves the shared models) and Debian's Chromium on
 * SwiftShader driven by playwright-core, with the flags the browser tests use.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser';
import { requireChromium } from '../helpers/gpu';

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
  const executablePath = requireChromium(CHROMIUM);
  // No file watching and no HMR: edits elsewhere in the tree must not reload the page mid-test.
  const server: ViteDevServer = await createServer({
    root: join(ROOT, 'demo'),
    configFile: join(ROOT, 'vite.config.ts'),
    // Its own pre-bundled dependencies: a browser-test server started meanwhile (another root, so
    // another config hash) would otherwise rewrite them under this page ("504 Outdated Optimize Dep").
    cacheDir: join(ROOT, 'node_modules/.vite-e2e'),
    server: { port: 0, host: '127.0.0.1', strictPort: false, hmr: false, watch: null },
    logLevel: 'error',
  });
  const userDataDir = mkdtempSync(join(tmpdir(), 'd2o-e2e-chromium-'));
  let context: BrowserContext | undefined;
  const close = async () => {
    await context?.close().catch(() => {});
    await server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  try {
    await server.listen();
    const address = server.httpServer!.address();
    const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = async (name: string, viewport = { width: 1280, height: 800 }) => {
      await page.setViewportSize(viewport);
      // Let the layout, the ResizeObserver redraw of the KV map and transitions settle.
      await page.waitForTimeout(400);
      const path = join(ARTIFACTS, `${name}-${viewport.width}x${viewport.height}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    };
    return { page, context, baseUrl, errors, screenshot, close };
  } catch (e) {
    await close();
    throw e;
  }
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
