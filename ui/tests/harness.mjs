// What every browser test of the panes shares: a real `weir start -f
// specs/examples` in a temporary folder on ports of its own (SQLite there,
// the panes from ui/dist/apps, the console from the binary), Debian's
// Chromium driven by playwright-core, request counting, and axe-core.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const binary = process.env.WEIR_BIN ?? join(repo, 'target/debug/weir');

/** A port nobody listens on now. */
export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function waitFor(url, deadline) {
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} did not answer in time`);
}

/**
 * Starts the engine on the bundled examples; `env` adds variables (e.g.
 * LLM_BASE_URL). Returns `{base, system, token, api(), stop()}`.
 */
export async function startEngine(env = {}) {
  if (!existsSync(binary)) throw new Error(`no engine binary at ${binary}: run cargo build first`);
  const dir = await mkdtemp(join(tmpdir(), 'weir-ui-test-'));
  const [port, systemPort] = [await freePort(), await freePort()];
  const token = `ui-test-${Math.random().toString(36).slice(2)}`;
  const child = spawn(binary, ['start', '-f', join(repo, 'specs/examples')], {
    cwd: dir,
    env: {
      ...process.env,
      PORT: String(port),
      WEIR_SYSTEM_ADDR: `127.0.0.1:${systemPort}`,
      WEIR_TOKEN: token,
      WEIR_UI_DIR: join(repo, 'ui/dist/apps'),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const base = `http://127.0.0.1:${port}`;
  const system = `http://127.0.0.1:${systemPort}`;
  try {
    const deadline = Date.now() + 90_000;
    await waitFor(`${base}/ping`, deadline);
    await waitFor(`${base}/prompts`, deadline);
    await waitFor(`${system}/healthz`, deadline);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\nengine stderr:\n${stderr}`);
  }
  return {
    base,
    system,
    token,
    stderr: () => stderr,
    /** A JSON request to the examples listener (or the system one, with the token). */
    async api(method, path, body, { onSystem = false } = {}) {
      const headers = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (onSystem) headers.authorization = `Bearer ${token}`;
      const response = await fetch(`${onSystem ? system : base}${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, on a fresh profile. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A new page whose console errors and failed page scripts fail the test. */
export async function openPage(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  await page.goto(url);
  return page;
}

/** Counts the requests whose method and URL path match, from now on. */
export function countRequests(page, method, pathPattern) {
  const seen = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (request.method() === method && pathPattern.test(path)) seen.push(path);
  });
  return seen;
}

/** Presses Tab until `selector` has the focus (at most `max` times); returns the tab stops passed. */
export async function tabTo(page, selector, max = 60) {
  const stops = [];
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    const here = await page.evaluate((s) => {
      const active = document.activeElement;
      return { match: active?.matches(s) ?? false, id: active?.id || active?.textContent?.trim().slice(0, 30) || active?.tagName };
    }, selector);
    stops.push(here.id);
    if (here.match) return stops;
  }
  throw new Error(`Tab never reached ${selector}; stops: ${stops.join(', ')}`);
}

const axeSource = readFile(join(repo, 'ui/node_modules/axe-core/axe.min.js'), 'utf8');

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(page) {
  await page.addScriptTag({ content: await axeSource });
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);
}

/** The text of the page's status line once it matches `pattern`. */
export async function statusMatching(page, pattern, timeout = 15_000) {
  const status = page.locator('#status');
  await status.filter({ hasText: pattern }).waitFor({ timeout });
  return status.textContent();
}
