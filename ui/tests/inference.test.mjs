// The Inference Window in Chromium against a real engine and the Neural
// Request API (specs/examples/neural-request/): a PromptPair run on a
// script with the real local model, A and B filled as they stream, their
// timings and token counts, the diff, the history reopened; a failed side
// (the engine pointed for one run at this test's own fault server, which
// answers A and refuses B); a late history reply dropped; client errors
// with nothing sent; axe-core.
// Skipped, saying so, on a tree without that API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import {
  repo, startEngine, launchBrowser, openPage, countRequests, tabTo, seriousViolations, statusMatching,
} from './harness.mjs';

const present = existsSync(join(repo, 'specs/examples/neural-request'));
let engine;
let browser;
before(async () => {
  if (present) [engine, browser] = await Promise.all([startEngine(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await engine?.stop();
});

const pair = (name, extra = {}) => ({
  name, description: '', prompt_a: 'Describe this script in one sentence.', prompt_b: 'Name one risk in this script, in one sentence.',
  model: 'gemma-3-270m', temperature: 0, max_tokens: 24, ...extra,
});

async function openInference(on) {
  const page = await openPage(browser, `${on.base}/inference`);
  await page.locator('body[data-ready="true"]').waitFor();
  return page;
}

/**
 * An OpenAI-compatible chat endpoint of the test's own that streams a fixed
 * answer, or refuses with 503 when the prompt asks it to (`REFUSE`).
 */
function faultServer() {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const asked = JSON.parse(body || '{}');
      if (JSON.stringify(asked.messages ?? '').includes('REFUSE')) {
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'the fault server refuses this prompt', type: 'overloaded' } }));
        return;
      }
      const words = ['This ', 'script ', 'prints ', 'numbers.'];
      if (!asked.stream) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({
          id: 'x', object: 'chat.completion', model: asked.model, created: 0,
          choices: [{ index: 0, message: { role: 'assistant', content: words.join('') }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
        }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const word of words) {
        response.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: asked.model, created: 0, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })}\n\n`);
      }
      response.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: asked.model, created: 0, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } })}\n\n`);
      response.end('data: [DONE]\n\n');
    });
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

describe('inference window', { skip: present ? false : 'the Neural Request API (specs/examples/neural-request/) is not in this tree' }, () => {
  test('a PromptPair runs on a script: A and B stream in, with timings, diff and history', async () => {
    const created = await engine.api('POST', '/api/prompts', pair('describe-and-risk'));
    assert.equal(created.status, 201);
    const page = await openInference(engine);
    const runs = countRequests(page, 'POST', /^\/api\/inferences$/);
    await tabTo(page, '#pair');
    await page.selectOption('#pair', created.body.id); // a select's own keys are the browser's
    await page.selectOption('#sample', 'fibonacci.py');
    await statusMatching(page, /Loaded the sample/);
    await tabTo(page, '#script-name');
    await page.keyboard.press('Enter');
    // The real model on two shared cores: give it time (no timing is asserted).
    await statusMatching(page, /A and B answered/, 180_000);
    assert.equal(runs.length, 1);
    for (const side of ['a', 'b']) {
      const panel = page.locator(`#side-${side}`);
      assert.notEqual((await panel.locator('[data-part=answer]').textContent()).trim(), '', side);
      assert.match(await panel.locator('[data-part=latency]').textContent(), /\d+ ms/);
      assert.match(await panel.locator('[data-part=ttft]').textContent(), /\d+ ms/);
      assert.match(await panel.locator('[data-part=completion_tokens]').textContent(), /^\d+$/);
      assert.match(await panel.locator('[data-part=total_tokens]').textContent(), /^\d+$/);
      assert.equal(await panel.locator('[data-part=error]').textContent(), '');
    }
    await page.check('#show-diff');
    assert.equal(await page.isVisible('#diff'), true);
    assert.ok(await page.locator('#diff-text ins, #diff-text del').count() > 0);
    // The history lists the run; reopening it shows the stored answers.
    await page.locator('#history button').first().waitFor();
    const answerA = await page.locator('#side-a [data-part=answer]').textContent();
    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    await page.selectOption('#pair', created.body.id);
    await page.locator('#history button').first().click();
    await statusMatching(page, /Reopened request/);
    assert.equal(await page.locator('#side-a [data-part=answer]').textContent(), answerA);
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(page.errors, []);
  });

  test('a failed side shows its error beside the other side\'s answer', async () => {
    const fault = await faultServer();
    const faulty = await startEngine({ LLM_BASE_URL: `http://127.0.0.1:${fault.address().port}/v1`, LLM_MAX_ATTEMPTS: '1' });
    try {
      const created = await faulty.api('POST', '/api/prompts', pair('half-refused', { prompt_b: 'REFUSE this one.' }));
      const page = await openInference(faulty);
      await page.selectOption('#pair', created.body.id);
      await page.fill('#source', 'print(1)\n');
      await page.click('#submit');
      await statusMatching(page, /Finished partial: B failed/, 60_000);
      assert.match(await page.locator('#side-a [data-part=answer]').textContent(), /This script prints numbers\./);
      assert.match(await page.locator('#side-b [data-part=error]').textContent(), /B failed/);
      assert.match(await page.locator('#side-b [data-part=status]').textContent(), /failed/);
      assert.deepEqual(await seriousViolations(page), []);
    } finally {
      await faulty.stop();
      fault.close();
    }
  });

  test('a history reply overtaken by another PromptPair\'s is dropped', async () => {
    const fault = await faultServer();
    const quick = await startEngine({ LLM_BASE_URL: `http://127.0.0.1:${fault.address().port}/v1`, LLM_MAX_ATTEMPTS: '1' });
    try {
      const ran = await quick.api('POST', '/api/prompts', pair('history-ran'));
      const idle = await quick.api('POST', '/api/prompts', pair('history-idle'));
      const first = await openInference(quick);
      await first.selectOption('#pair', ran.body.id);
      await first.fill('#source', 'print(1)\n');
      await first.click('#submit');
      await statusMatching(first, /A and B answered/, 60_000);
      await first.locator('#history button').first().waitFor();
      // A fresh page: the history of the pair that ran is held back until
      // the other pair, picked after it, has shown its own (empty) history.
      const page = await openInference(quick);
      let release;
      const held = new Promise((resolve) => { release = resolve; });
      await page.route('**/api/inferences?*', async (route) => {
        if (route.request().url().includes(ran.body.id)) await held;
        await route.continue();
      });
      await page.selectOption('#pair', ran.body.id);
      await page.selectOption('#pair', idle.body.id);
      await page.locator('#history td.empty').waitFor();
      const late = page.waitForResponse((r) => r.url().includes(ran.body.id));
      release();
      await late;
      // Let the page handle the late reply (its body read, then the ticket checked).
      await page.evaluate(() => new Promise((resolve) => { setTimeout(resolve, 200); }));
      assert.equal(await page.locator('#history button').count(), 0);
      assert.match(await page.textContent('#history'), /No requests yet/);
    } finally {
      await quick.stop();
      fault.close();
    }
  });

  test('client-side errors are shown beside their fields and nothing is sent', async () => {
    const page = await openInference(engine);
    const runs = countRequests(page, 'POST', /^\/api\/inferences$/);
    await page.fill('#source', '');
    await page.click('#submit');
    await statusMatching(page, /Nothing was sent: 2 problems/);
    assert.match(await page.textContent('#pair-error'), /PromptPair/);
    assert.match(await page.textContent('#source-error'), /script/);
    assert.deepEqual(runs, []);
    assert.deepEqual(await seriousViolations(page), []);
  });
});
