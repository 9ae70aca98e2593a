/**
 * Browser route of the GPU tests: a Vite dev server on 127.0.0.1 (a secure context, so
 * navigator.gpu exists) and Debian's Chromium driven by playwright-core on SwiftShader.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface BrowserSession {
  page: Page;
  baseUrl: string;
  browser: Browser;
  close(): Promise<void>;
}

/** Starts the server and the browser; `path` is the page to open (the GPU test page by default). */
export async function openBrowser(path = '/test/browser/page/index.html', serverRoot?: string): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) throw new Error(`browser tests need Chromium at ${CHROMIUM}: run sudo apt-get install -y chromium`);
  const server: ViteDevServer = await createServer({ root: serverRoot, server: { port: 0, host: '127.0.0.1', strictPort: false }, logLevel: 'error' });
  await server.listen();
  const address = server.httpServer!.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;
  const userDataDir = mkdtempSync(join(tmpdir(), 'd2o-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(baseUrl + path);
  return {
    page,
    baseUrl,
    browser: context.browser()!,
    async close() {
      await context.close();
      await server.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` of `module` (a path from the project root, e.g. '/test/cases/matvec.ts') with the page's GpuContext. */
export async function runCase<T>(page: Page, module: string, fn: string, ...args: unknown[]): Promise<T> {
  await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 60_000 });
  return page.evaluate(([m, f, a]) => window.runCase(m as string, f as string, a as unknown[]), [module, fn, args] as const) as Promise<T>;
}
