// The examples' front page: served by the engine, linking every pane, each
// pane reachable with the keyboard, no serious accessibility violation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEngine, launchBrowser, openPage, tabTo, seriousViolations } from './harness.mjs';

let engine;
let browser;
before(async () => {
  [engine, browser] = await Promise.all([startEngine(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await engine?.stop();
});

test('the index links each pane and Enter opens one', async () => {
  const page = await openPage(browser, `${engine.base}/`);
  const links = await page.$$eval('main .cards a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(links, ['/prompts', '/compiler', '/inference']);
  assert.deepEqual(await seriousViolations(page), []);
  await tabTo(page, 'main a[href="/prompts"]');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${engine.base}/prompts`);
  assert.equal(await page.title(), 'Prompt Registry — Weir');
});

test('the static files answer with types and tags, and nothing outside the folder', async () => {
  const script = await fetch(`${engine.base}/assets/prompts.js`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type'), /javascript/);
  const again = await fetch(`${engine.base}/assets/prompts.js`, { headers: { 'if-none-match': script.headers.get('etag') } });
  assert.equal(again.status, 304);
  assert.equal((await fetch(`${engine.base}/assets/%2e%2e/%2e%2e/Cargo.toml`)).status, 404);
  const samples = await (await fetch(`${engine.base}/samples/index.json`)).json();
  assert.ok(samples.includes('syntax_error.py'));
  const console = await fetch(`${engine.system}/console/console.js`);
  assert.equal(console.status, 200);
  const tag = console.headers.get('etag');
  assert.equal((await fetch(`${engine.system}/console/console.js`, { headers: { 'if-none-match': tag } })).status, 304);
  assert.equal((await fetch(`${engine.system}/console/nothing.js`)).status, 404);
});
