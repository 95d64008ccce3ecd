// The engine console on the system listener, in Chromium against a real
// engine started in a temporary folder (so its files can only come from the
// binary): the token asked once and kept in sessionStorage only, specs by
// namespace with their status, a change applied through the API shown live,
// a late listing dropped, the graph drawn by Mermaid (a late draw dropped),
// a spec's document, the jobs table, axe-core.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEngine, launchBrowser, openPage, countRequests, tabTo, seriousViolations, statusMatching,
} from './harness.mjs';

let engine;
let browser;
before(async () => {
  [engine, browser] = await Promise.all([startEngine(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await engine?.stop();
});

async function connect(page) {
  await page.locator('#token').waitFor();
  await tabTo(page, '#token');
  await page.keyboard.type(engine.token);
  await page.keyboard.press('Enter');
  await page.locator('body[data-ready="true"]').waitFor();
  await page.getByRole('button', { name: /^examples \(/ }).click();
}

describe('engine console', () => {
  test('is served from the binary, asks for the token and keeps it for the tab only', async () => {
    const page = await openPage(browser, `${engine.system}/console`);
    const calls = countRequests(page, 'GET', /^\/v1\//);
    await page.locator('#login:not([hidden])').waitFor();
    await page.click('#login button[type=submit]');
    await statusMatching(page, /the token is empty/);
    assert.deepEqual(calls, []);
    assert.deepEqual(await seriousViolations(page), []);
    await page.fill('#token', 'not-the-token');
    await page.press('#token', 'Enter');
    await statusMatching(page, /The token was refused/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await connect(page);
    const stored = await page.evaluate(() => ({ session: Object.values(sessionStorage), local: localStorage.length }));
    assert.deepEqual(stored, { session: [engine.token], local: 0 });
    // A reload in the same tab keeps it; a new context (another tab's session) asks again.
    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    assert.equal(await page.isHidden('#login'), true);
    const other = await openPage(browser, `${engine.system}/console`);
    await other.locator('#login:not([hidden])').waitFor();
    // The forget button drops it.
    await page.click('#forget');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.deepEqual(page.errors, []);
  });

  test('lists the specs with their status, draws the graph and shows a document', async () => {
    const page = await openPage(browser, `${engine.system}/console`);
    await connect(page);
    await page.locator('#specs tr[data-name="prompt-create-check"]').waitFor();
    assert.match(await page.textContent('#namespaces'), /examples/);
    assert.match(await page.textContent('#namespaces'), /system/);
    const row = page.locator('#specs tr[data-name="routes"]');
    assert.match(await row.textContent(), /router/);
    await row.locator('.badge.active').waitFor();
    // The graph: Mermaid drew an SVG with a node per spec and the router's links.
    await page.locator('#graph svg').waitFor();
    const source = await page.textContent('#graph-source');
    assert.match(source, /^flowchart LR/);
    assert.match(source, /routes<br\/>\(router\)/);
    assert.match(source, /out\[2\] → in/);
    assert.ok(await page.locator('#graph svg .node').count() > 10);
    // The document, as YAML and as JSON.
    await page.click('button[aria-label="Show the document of routes"]');
    assert.match(await page.textContent('#document'), /kind: router/);
    await page.click('#as-json');
    assert.match(await page.textContent('#document'), /"kind": "router"/);
    // The jobs table says something definite (rows, none, or no jobs API).
    await page.locator('#jobs tr').first().waitFor();
    assert.notEqual((await page.textContent('#jobs')).trim(), '');
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(page.errors, []);
  });

  test('shows a spec change live, status included', async () => {
    const page = await openPage(browser, `${engine.system}/console`);
    await connect(page);
    await page.locator('#live.active').waitFor();
    const created = await engine.api('POST', '/v1/specs', {
      kind: 'snippet', namespace: 'examples', name: 'live-hello', language: 'text', code: 'hi',
    }, { onSystem: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await statusMatching(page, /examples\/live-hello: created \(revision 1\)/);
    const row = page.locator('#specs tr[data-name="live-hello"]');
    await row.waitFor();
    await row.locator('.badge.active').waitFor();
    // An update shows its new revision without a reload.
    const updated = await engine.api('PUT', `/v1/specs/${created.body.id}`, {
      kind: 'snippet', namespace: 'examples', name: 'live-hello', language: 'text', code: 'hello',
    }, { onSystem: true });
    assert.equal(updated.status, 200);
    await statusMatching(page, /live-hello: updated \(revision 2\)/);
    await page.locator('#specs tr[data-name="live-hello"] td.num', { hasText: '2' }).waitFor();
    // The graph follows: the new spec is a node of it.
    await page.waitForFunction(() => document.querySelector('#graph-source').textContent.includes('live-hello'));
    assert.match(await page.textContent('#graph svg'), /live-hello/);
    assert.deepEqual(page.errors, []);
  });

  test('a graph drawn slowly does not land over the one picked after it', async () => {
    const page = await openPage(browser, `${engine.system}/console`);
    await connect(page);
    await page.locator('#graph svg').waitFor();
    // The next draw (the system namespace's) is held after Mermaid has
    // rendered it, until the examples' graph, picked after it, has landed.
    await page.evaluate(() => {
      const render = window.mermaid.render.bind(window.mermaid);
      let first = true;
      window.mermaid.render = async (id, source) => {
        const drawn = await render(id, source);
        if (first) {
          first = false;
          await new Promise((resolve) => { window.releaseDraw = resolve; });
        }
        return drawn;
      };
    });
    await page.getByRole('button', { name: /^system \(/ }).click();
    await page.waitForFunction(() => typeof window.releaseDraw === 'function');
    await page.getByRole('button', { name: /^examples \(/ }).click();
    await page.waitForFunction(() => /graph of examples/.test(document.querySelector('#graph').getAttribute('aria-label')));
    await page.evaluate(() => window.releaseDraw());
    await page.evaluate(() => new Promise((resolve) => { setTimeout(resolve, 200); }));
    assert.match(await page.getAttribute('#graph', 'aria-label'), /graph of examples/);
    assert.match(await page.textContent('#graph svg'), /routes/);
    assert.deepEqual(page.errors, []);
  });

  test('a listing overtaken by a newer one does not draw over it', async () => {
    const page = await openPage(browser, `${engine.system}/console`);
    await connect(page);
    await page.locator('#live.active').waitFor();
    // A listing without the second spec is answered at once but handed to
    // the page only once one with it has drawn (`release`); a listing with
    // it that comes after that (the console lists again a second later)
    // waits for the test's end, so it cannot hide a stale draw.
    let release;
    let finish;
    let released = false;
    const held = new Promise((resolve) => { release = () => { released = true; resolve(); }; });
    const ended = new Promise((resolve) => { finish = resolve; });
    let staleHeld;
    const stale = new Promise((resolve) => { staleHeld = resolve; });
    await page.route((url) => url.pathname === '/v1/specs', async (route) => {
      const response = await route.fetch();
      if (!(await response.text()).includes('race-two')) {
        staleHeld();
        await held;
      } else if (released) {
        await ended;
      }
      return route.fulfill({ response });
    });
    const spec = (name) => ({ kind: 'snippet', namespace: 'examples', name, language: 'text', code: 'hi' });
    assert.equal((await engine.api('POST', '/v1/specs', spec('race-one'), { onSystem: true })).status, 201);
    await statusMatching(page, /examples\/race-one: created/);
    await stale; // a listing without race-two is held before race-two exists
    assert.equal((await engine.api('POST', '/v1/specs', spec('race-two'), { onSystem: true })).status, 201);
    await page.locator('#specs tr[data-name="race-two"]').waitFor();
    const late = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/specs');
    release();
    await late;
    // Let the page handle the late reply (its body read, then the ticket checked).
    await page.evaluate(() => new Promise((resolve) => { setTimeout(resolve, 200); }));
    assert.equal(await page.locator('#specs tr[data-name="race-two"]').count(), 1);
    assert.equal(await page.locator('#specs tr[data-name="race-one"]').count(), 1);
    assert.deepEqual(page.errors, []);
    finish();
  });
});
