// The Prompt Registry pane in Chromium against a real engine: create, edit
// and delete through the form with the keyboard only, errors shown beside
// their fields before anything is sent, the server's 400 on its field, a
// stale edit's 409 (reload or overwrite), a taken name, paging, a late reply
// dropped, axe-core.
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

async function openPrompts() {
  const page = await openPage(browser, `${engine.base}/prompts`);
  await page.locator('body[data-ready="true"]').waitFor();
  return page;
}

const rowNames = (page) => page.$$eval('#rows tr', (rows) => rows.map((r) => r.dataset.name));

/** Waits until the list shows `expected` (names in order), then checks it does. */
async function shows(page, expected) {
  await page.waitForFunction((want) => [...document.querySelectorAll('#rows tr')]
    .map((r) => r.dataset.name).join() === want.join(), expected).catch(() => {});
  assert.deepEqual(await rowNames(page), expected);
}

const pair = (name, extra = {}) => ({
  name, description: 'two greetings', prompt_a: 'Say hi.', prompt_b: 'Say hello.', model: 'gemma-3-270m', temperature: 0.5, max_tokens: 64, ...extra,
});

describe('prompt registry pane', () => {
  test('the schema it checks against is the one the server enforces', async () => {
    const { status, body } = await engine.api('GET', '/api/prompts/schema');
    assert.equal(status, 200);
    assert.deepEqual(body.required, ['name', 'prompt_a', 'prompt_b', 'model', 'temperature', 'max_tokens']);
    assert.equal(body.properties.max_tokens.maximum, 32768);
    assert.equal(body.additionalProperties, false);
    // What the schema refuses, the server refuses with the same pointer.
    const refused = await engine.api('POST', '/api/prompts', pair('x', { temperature: 2.5 }));
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body.error.details.map((d) => d.pointer), ['/body/temperature']);
  });

  test('create, edit and delete a PromptPair with the keyboard only', async () => {
    const page = await openPrompts();
    // Tab order through the form: every field in reading order, then Create.
    const stops = await tabTo(page, '#name');
    assert.ok(stops.length > 1);
    const order = [];
    for (let i = 0; i < 7; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement.id));
    }
    assert.deepEqual(order, ['description', 'prompt_a', 'prompt_b', 'model', 'temperature', 'max_tokens', 'save']);
    await page.keyboard.press('Shift+Tab'); // back to max_tokens
    await tabTo(page, '#name');
    for (const [text, tabs] of [['kbd-greeting', 1], ['A friendly pair', 1], ['Say hi to {{name}}.', 1], ['Say hello to {{name}}.', 1], ['gemma-3-270m', 1], ['0.7', 1], ['128', 0]]) {
      await page.keyboard.type(text);
      for (let i = 0; i < tabs; i += 1) await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter'); // implicit submission from the last field
    assert.match(await statusMatching(page, /Created/), /Created “kbd-greeting”/);
    await page.locator('#rows tr[data-name="kbd-greeting"]').waitFor();
    const stored = (await engine.api('GET', '/api/prompts?prefix=kbd-')).body.items;
    assert.equal(stored.length, 1);
    assert.equal(stored[0].temperature, 0.7);
    assert.equal(stored[0].max_tokens, 128);
    assert.equal(stored[0].prompt_a, 'Say hi to {{name}}.');

    // Edit: reach the row's Edit button by keyboard, change the description.
    await tabTo(page, 'button[aria-label="Edit kbd-greeting"]');
    await page.keyboard.press('Enter');
    await statusMatching(page, /Editing/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'name');
    await page.keyboard.press('Tab');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('Now revised');
    await page.keyboard.press('Enter');
    assert.match(await statusMatching(page, /Saved/), /revision 2/);
    const revised = await engine.api('GET', `/api/prompts/${stored[0].id}`);
    assert.equal(revised.body.description, 'Now revised');
    assert.equal(revised.body.revision, 2);

    // Delete asks first: Keep it keeps it, Delete deletes.
    await tabTo(page, 'button[aria-label="Delete kbd-greeting"]');
    await page.keyboard.press('Enter');
    await page.locator('#confirm-delete[open]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'confirm-cancel');
    await page.keyboard.press('Enter');
    await statusMatching(page, /Kept/);
    assert.equal((await engine.api('GET', `/api/prompts/${stored[0].id}`)).status, 200);
    await tabTo(page, 'button[aria-label="Delete kbd-greeting"]');
    await page.keyboard.press('Enter');
    await page.locator('#confirm-delete[open]').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'confirm-ok');
    await page.keyboard.press('Enter');
    await statusMatching(page, /Deleted “kbd-greeting”/);
    assert.equal((await engine.api('GET', `/api/prompts/${stored[0].id}`)).status, 404);
    await page.locator('#rows tr[data-name="kbd-greeting"]').waitFor({ state: 'detached' });
    assert.deepEqual(page.errors, []);
  });

  test('every client-side error shows beside its field and nothing is sent', async () => {
    const page = await openPrompts();
    const writes = countRequests(page, 'POST', /^\/api\/prompts/);
    await page.click('#save');
    await statusMatching(page, /Nothing was sent: 6 fields/);
    for (const field of ['name', 'prompt_a', 'prompt_b', 'model', 'temperature', 'max_tokens']) {
      assert.match(await page.textContent(`#${field}-error`), /required/, field);
      assert.equal(await page.getAttribute(`#${field}`, 'aria-invalid'), 'true');
    }
    assert.equal(await page.evaluate(() => document.activeElement.id), 'name');
    await page.fill('#name', 'n'.repeat(201));
    await page.fill('#prompt_a', 'a');
    await page.fill('#prompt_b', 'b');
    await page.fill('#model', 'm');
    await page.fill('#temperature', '2.5');
    await page.fill('#max_tokens', '1.5');
    await page.click('#save');
    await statusMatching(page, /Nothing was sent: 3 fields/);
    assert.match(await page.textContent('#name-error'), /200 characters/);
    assert.match(await page.textContent('#temperature-error'), /<= 2/);
    assert.match(await page.textContent('#max_tokens-error'), /integer/);
    assert.equal(await page.textContent('#prompt_a-error'), '');
    assert.deepEqual(writes, []);
    assert.deepEqual(await seriousViolations(page), []);
  });

  test("the server's 400 lands on the field it names", async () => {
    const page = await openPage(browser, 'about:blank');
    // A pane whose copy of the schema is looser than the server's: only the
    // server can refuse, and its details must reach the field.
    await page.route('**/api/prompts/schema', async (route) => {
      const schema = await (await route.fetch()).json();
      delete schema.properties.max_tokens.maximum;
      await route.fulfill({ json: schema });
    });
    await page.goto(`${engine.base}/prompts`);
    await page.locator('body[data-ready="true"]').waitFor();
    const writes = countRequests(page, 'POST', /^\/api\/prompts$/);
    await page.fill('#name', 'too-many-tokens');
    await page.fill('#prompt_a', 'a');
    await page.fill('#prompt_b', 'b');
    await page.fill('#model', 'm');
    await page.fill('#temperature', '1');
    await page.fill('#max_tokens', '40000');
    await page.click('#save');
    await statusMatching(page, /The server refused the PromptPair: 1 field/);
    assert.equal(writes.length, 1);
    assert.match(await page.textContent('#max_tokens-error'), /32768/);
    assert.equal(await page.getAttribute('#max_tokens', 'aria-invalid'), 'true');
    assert.equal((await engine.api('GET', '/api/prompts?prefix=too-many')).body.items.length, 0);
  });

  test('a stale edit shows the newer version, then reloads it or overwrites it on purpose', async () => {
    const created = (await engine.api('POST', '/api/prompts', pair('stale-pair'))).body;
    const page = await openPrompts();
    await page.click('button[aria-label="Edit stale-pair"]');
    await statusMatching(page, /Editing/);
    // Someone else saves first.
    const theirs = await engine.api('PUT', `/api/prompts/${created.id}`, { ...pair('stale-pair', { description: 'their change' }), revision: 1 });
    assert.equal(theirs.status, 200);
    await page.fill('#description', 'my change');
    await page.click('#save');
    await statusMatching(page, /changed by someone else \(now revision 2\)/);
    assert.equal(await page.isVisible('#conflict'), true);
    assert.match(await page.textContent('#conflict-newer'), /their change/);
    assert.equal(await page.textContent('#conflict-theirs'), '2');
    // Reload: the form shows theirs.
    await page.click('#conflict-reload');
    assert.equal(await page.inputValue('#description'), 'their change');
    assert.equal(await page.inputValue('#revision'), '2');
    // A second stale edit, overwritten on purpose.
    await engine.api('PUT', `/api/prompts/${created.id}`, { ...pair('stale-pair', { description: 'third' }), revision: 2 });
    await page.fill('#description', 'mine wins');
    await page.click('#save');
    await statusMatching(page, /now revision 3/);
    await page.click('#conflict-overwrite');
    await statusMatching(page, /Saved “stale-pair” \(revision 4\)/);
    const stored = await engine.api('GET', `/api/prompts/${created.id}`);
    assert.equal(stored.body.description, 'mine wins');
    assert.equal(stored.body.revision, 4);
    assert.deepEqual(await seriousViolations(page), []);
  });

  test('a taken name is shown on the name field', async () => {
    await engine.api('POST', '/api/prompts', pair('taken-name'));
    const page = await openPrompts();
    await page.fill('#name', 'taken-name');
    await page.fill('#prompt_a', 'a');
    await page.fill('#prompt_b', 'b');
    await page.fill('#model', 'm');
    await page.fill('#temperature', '0');
    await page.fill('#max_tokens', '1');
    await page.click('#save');
    await statusMatching(page, /Not saved: a prompt with this name already exists \(HTTP 409\)/);
    assert.match(await page.textContent('#name-error'), /already exists/);
  });

  test('the list pages by cursor and filters by name prefix', async () => {
    for (let i = 0; i < 7; i += 1) await engine.api('POST', '/api/prompts', pair(`page-${i}`));
    const page = await openPrompts();
    await page.selectOption('#page-size', '5');
    await page.fill('#prefix', 'page-');
    await page.press('#prefix', 'Enter');
    // The unfiltered first page also holds page-4: wait for the filtered one.
    await shows(page, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    await page.click('#next');
    await shows(page, ['page-5', 'page-6']);
    assert.equal(await page.isDisabled('#next'), true);
    await page.click('#prev');
    await page.locator('#rows tr[data-name="page-0"]').waitFor();
    assert.equal(await page.isDisabled('#prev'), true);
    assert.deepEqual(await seriousViolations(page), []);
  });

  test('a reply overtaken by a newer request does not draw the list', async () => {
    // `other-race` makes the unfiltered list differ from the filtered one.
    for (const name of ['other-race', 'race-a', 'race-b']) await engine.api('POST', '/api/prompts', pair(name));
    const page = await openPrompts();
    // Hold the unfiltered list the page-size change asks for until the
    // filtered one, asked for after it, has been drawn.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route('**/api/prompts?*', async (route) => {
      if (!new URL(route.request().url()).searchParams.has('prefix')) await held;
      await route.continue();
    });
    await page.selectOption('#page-size', '5');
    await page.fill('#prefix', 'race-');
    await page.press('#prefix', 'Enter');
    await shows(page, ['race-a', 'race-b']);
    const late = page.waitForResponse((r) => r.url().includes('/api/prompts?') && !r.url().includes('prefix='));
    release();
    await late;
    // Let the page handle the late reply (its body read, then the ticket checked).
    await page.evaluate(() => new Promise((resolve) => { setTimeout(resolve, 200); }));
    assert.deepEqual(await rowNames(page), ['race-a', 'race-b']);
  });
});
