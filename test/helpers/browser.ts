/**
 * Browser route of the GPU tests: a Vite dev server on 127.0.0.1 (a secure context, so navigator.gpu
 * exists) and Debian's Chromium driven by playwright-core, on SwiftShader (no GPU, no display).
 * These are Node-side vitest tests (project `browser`); the code under test runs in the page.
 *
 * A case is any exported function `(ctx: GpuContext, ...args) => result` in a module under the
 * project (test/cases/*.ts); the page imports it through Vite, calls
 * it with the page's device, and the JSON-able result comes back to Node:
 *
 *   const browser = useBrowserPage();   // one Chromium + server per test file (beforeAll/afterAll)
 *   it('my kernel in Chromium', async () => {
 *     const r = await browser.run<{ gpu: number[]; cpu: number[] }>('/test/cases/my.ts', 'myCase', { n: 7 });
 *     expectClose(r.gpu, r.cpu, { atol: 1e-6 });
 *   });
 *
 * Return plain arrays/objects from cases (typed arrays: Array.from). Shapes small: SwiftShader is slow.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type InlineConfig, type ViteDevServer } from 'vite';
import { afterAll, beforeAll } from 'vitest';
import { requireChromium } from './gpu';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** From the shared doc (route 2). No --enable-features: it would replace Playwright's own. */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The GPU test page (test/browser/page/index.html): exposes window.runCase and window.adapterInfo. */
export const TEST_PAGE = '/test/browser/page/index.html';

export interface BrowserSession {
  page: Page;
  baseUrl: string;
  context: BrowserContext;
  /** Uncaught page errors and console errors so far (added to failure messages). */
  errors: string[];
  close(): Promise<void>;
}

/**
 * A Vite dev server (`server` merged into the defaults: port 0 on 127.0.0.1, no HMR, no file
 * watching, so other work in the tree never reloads a page under test) and Chromium with a fresh
 * profile; opens `path` when given. The browser tests and the demo's e2e tests both start here.
 */
export async function openSession(o: { server?: InlineConfig; path?: string; viewport?: { width: number; height: number } } = {}): Promise<BrowserSession> {
  const executablePath = requireChromium(CHROMIUM);
  const server: ViteDevServer = await createServer({
    ...o.server,
    server: { port: 0, host: '127.0.0.1', strictPort: false, hmr: false, watch: null },
    logLevel: 'error',
  });
  let context: BrowserContext | undefined;
  const userDataDir = mkdtempSync(join(tmpdir(), 'd2o-chromium-'));
  const close = async () => {
    await context?.close().catch(() => {});
    await server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  try {
    await server.listen();
    const address = server.httpServer!.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const baseUrl = `http://127.0.0.1:${port}`;
    context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport: o.viewport });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
    });
    if (o.path !== undefined) await page.goto(baseUrl + o.path);
    return { page, baseUrl, context, errors, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Starts the server and Chromium and opens `path` (the GPU test page by default). */
export function openBrowser(path = TEST_PAGE, serverRoot?: string): Promise<BrowserSession> {
  return openSession({ server: { root: serverRoot }, path });
}

/** Waits for the test page to be ready; a page that failed to load fails with its errors. */
async function waitReady(page: Page, errors?: string[]): Promise<void> {
  try {
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 60_000 });
  } catch (e) {
    throw new Error(`the browser test page never became ready${errors?.length ? `:\n${errors.join('\n')}` : ''}`, { cause: e });
  }
}

/**
 * Runs `fn` exported by `module` (a path from the project root, e.g. '/test/cases/weights-kernels.ts') in the
 * page, as `fn(ctx, ...args)` with the page's GpuContext, and returns its result.
 */
export async function runCase<T>(page: Page, module: string, fn: string, ...args: unknown[]): Promise<T> {
  const once = async () => {
    await waitReady(page);
    return page.evaluate(([m, f, a]) => window.runCase(m as string, f as string, a as unknown[]), [module, fn, args] as const) as Promise<T>;
  };
  try {
    return await once();
  } catch (e) {
    // Vite reloads the page when it discovers a dependency to pre-bundle on first import: run again.
    if (!/Execution context was destroyed|navigation/i.test((e as Error).message)) throw e;
    await page.waitForLoadState('load');
    return once();
  }
}

export interface BrowserPage {
  /** The session of the current file (valid inside tests, after beforeAll). */
  readonly session: BrowserSession;
  readonly page: Page;
  /** runCase on this file's page; a failure carries the page's errors. */
  run<T>(module: string, fn: string, ...args: unknown[]): Promise<T>;
  /** The page's adapter: { vendor, architecture, isFallback, hasF16, hasSubgroups }. */
  adapterInfo(): Promise<{ vendor: string; architecture: string; isFallback: boolean; hasF16: boolean; hasSubgroups?: boolean }>;
}

/** One Chromium + Vite server for the whole test file, opened in beforeAll and closed in afterAll. */
export function useBrowserPage(path = TEST_PAGE): BrowserPage {
  let s: BrowserSession | undefined;
  beforeAll(async () => {
    s = await openBrowser(path);
    if (path === TEST_PAGE) await waitReady(s.page, s.errors);
  }, 180_000);
  afterAll(async () => {
    await s?.close();
  });
  const session = () => {
    if (!s) throw new Error('useBrowserPage: the browser is not open (use it inside tests, after beforeAll)');
    return s;
  };
  return {
    get session() {
      return session();
    },
    get page() {
      return session().page;
    },
    async run<T>(module: string, fn: string, ...args: unknown[]) {
      const { page, errors } = session();
      const before = errors.length;
      try {
        return await runCase<T>(page, module, fn, ...args);
      } catch (e) {
        const extra = errors.slice(before);
        if (extra.length) (e as Error).message += `\npage errors:\n${extra.join('\n')}`;
        throw e;
      }
    },
    adapterInfo() {
      return session().page.evaluate(() => window.adapterInfo()) as ReturnType<BrowserPage['adapterInfo']>;
    },
  };
}

/** Opens a session, runs `fn` with its page, always closes (one-off tests; prefer useBrowserPage). */
export async function withBrowserPage<T>(fn: (page: Page, session: BrowserSession) => Promise<T>, path = TEST_PAGE): Promise<T> {
  const s = await openBrowser(path);
  try {
    if (path === TEST_PAGE) await waitReady(s.page, s.errors);
    return await fn(s.page, s);
  } finally {
    await s.close();
  }
}
