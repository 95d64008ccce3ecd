// The Compiler pane in Chromium against a real engine and the real native
// compiler behind the Compiler Job API (specs/examples/compiler-job/):
// a sample compiled to its manifest (artifacts downloadable, pass timings),
// a script with a syntax error whose diagnostic links to its line, a
// script executed in the Docker sandbox with what it printed shown, a late
// sample dropped, client errors with nothing sent, keyboard-only use,
// axe-core. Skipped, saying so, on a tree without that API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  repo, startEngine, launchBrowser, openPage, countRequests, tabTo, seriousViolations, statusMatching,
} from './harness.mjs';

const present = existsSync(join(repo, 'specs/examples/compiler-job'));
let engine;
let browser;
before(async () => {
  if (present) [engine, browser] = await Promise.all([startEngine(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await engine?.stop();
});

async function openCompiler() {
  const page = await openPage(browser, `${engine.base}/compiler`);
  await page.locator('body[data-ready="true"]').waitFor();
  return page;
}

describe('compiler pane', { skip: present ? false : 'the Compiler Job API (specs/examples/compiler-job/) is not in this tree' }, () => {
  test('a sample compiles and its manifest is shown, with the keyboard only', async () => {
    const page = await openCompiler();
    const submits = countRequests(page, 'POST', /^\/api\/compile$/);
    await tabTo(page, '#sample');
    await page.keyboard.press('ArrowDown'); // the first sample
    await page.locator('#source', { hasText: '' }).waitFor();
    await statusMatching(page, /Loaded the sample/);
    const name = await page.inputValue('#script-name');
    assert.match(name, /\.py$/);
    await tabTo(page, '#script-name');
    await page.keyboard.press('Enter'); // implicit submission
    await statusMatching(page, /succeeded/);
    assert.equal(submits.length, 1);
    const log = await page.textContent('#job-log');
    assert.match(log, /queued|building/);
    assert.match(log, /success/);
    await page.locator('#manifest:not([hidden])').waitFor();
    const artifacts = await page.$$eval('#artifacts a', (as) => as.map((a) => ({ name: a.textContent, href: a.getAttribute('href') })));
    assert.ok(artifacts.length >= 4, JSON.stringify(artifacts));
    const outline = artifacts.find((a) => a.name === 'outline.json');
    assert.ok(outline, JSON.stringify(artifacts));
    const download = await fetch(`${engine.base}${outline.href}`);
    assert.equal(download.status, 200);
    JSON.parse(await download.text());
    assert.equal(await page.locator('#pass-times tr').count(), 5);
    assert.match(await page.textContent('#pass-times'), /tokenize[\s\S]*callgraph/);
    assert.match(await page.textContent('#diagnostics'), /No diagnostics/);
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(page.errors, []);
  });

  test('a syntax error fails the compile and its diagnostic links to the line', async () => {
    const page = await openCompiler();
    await page.selectOption('#sample', 'syntax_error.py');
    await statusMatching(page, /Loaded the sample syntax_error.py/);
    await page.click('#submit');
    await statusMatching(page, /(failed|did not compile)/);
    await page.locator('#manifest:not([hidden])').waitFor();
    assert.match(await page.textContent('#manifest-status'), /failed/);
    const link = page.locator('#diagnostics a').first();
    const href = await link.getAttribute('href');
    assert.match(href, /^#line-\d+$/);
    await link.click();
    const focused = await page.evaluate(() => document.activeElement.id);
    assert.equal(`#${focused}`, href);
    assert.equal(await page.locator(`${href}.flagged`).count(), 1);
    assert.deepEqual(await seriousViolations(page), []);
  });

  test('an executed script shows what it printed in the sandbox', async () => {
    const page = await openCompiler();
    assert.equal(await page.isDisabled('#execute'), false, 'the server offers execute');
    await page.fill('#script-name', 'hello.py');
    await page.fill('#source', 'print("hello from the sandbox", 6 * 7)\n');
    await page.check('#execute');
    await page.click('#submit');
    await statusMatching(page, /succeeded/);
    await page.locator('#run:not([hidden])').waitFor();
    assert.match(await page.textContent('#run-status'), /exit 0/);
    await page.locator('#run-output', { hasText: 'hello from the sandbox 42' }).waitFor();
    assert.ok(await page.locator('#artifacts a', { hasText: 'run.txt' }).count() === 1);
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(page.errors, []);
  });

  test('of two samples picked in a row, the later lands even when the earlier answers last', async () => {
    const page = await openCompiler();
    // The first sample is answered at once but handed to the page only
    // after the second has landed.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route('**/samples/fibonacci.py', async (route) => {
      const response = await route.fetch();
      await held;
      await route.fulfill({ response });
    });
    await page.selectOption('#sample', 'fibonacci.py');
    await page.selectOption('#sample', 'word_count.py');
    await statusMatching(page, /Loaded the sample word_count.py/);
    const late = page.waitForResponse((r) => r.url().endsWith('/samples/fibonacci.py'));
    release();
    await late;
    // Let the page handle the late reply (its body read, then the ticket checked).
    await page.evaluate(() => new Promise((resolve) => { setTimeout(resolve, 200); }));
    assert.equal(await page.inputValue('#script-name'), 'word_count.py');
    const expected = await (await fetch(`${engine.base}/samples/word_count.py`)).text();
    assert.equal(await page.inputValue('#source'), expected);
    assert.deepEqual(page.errors, []);
  });

  test('client-side errors are shown beside their fields and nothing is sent', async () => {
    const page = await openCompiler();
    const submits = countRequests(page, 'POST', /^\/api\/compile$/);
    await page.fill('#source', '');
    await page.click('#submit');
    await statusMatching(page, /Nothing was sent/);
    assert.match(await page.textContent('#source-error'), /script/);
    for (const box of await page.$$('input[name=pass]')) await box.uncheck();
    await page.fill('#source', 'print(1)\n');
    await page.click('#submit');
    await statusMatching(page, /Nothing was sent/);
    assert.match(await page.textContent('#passes-error'), /pass/);
    assert.deepEqual(submits, []);
    assert.deepEqual(await seriousViolations(page), []);
  });
});
