// Takes the screenshots in docs/ui/ (scripts/ui-screenshots.sh): each pane
// in a realistic state, against a real engine started like the tests do.
// Panes whose API is not in this tree are taken as they show that.
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repo, startEngine, launchBrowser, openPage } from './harness.mjs';

const out = join(repo, 'docs/ui');
await mkdir(out, { recursive: true });
const engine = await startEngine();
const browser = await launchBrowser();
const shot = async (page, name) => {
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  console.log(`docs/ui/${name}.png`);
};
try {
  const pairs = [
    { name: 'code-review', description: 'A terse and a thorough reviewer', prompt_a: 'Review this script in one line.', prompt_b: 'Review this script: list every risk you see.', model: 'gemma-3-270m', temperature: 0.2, max_tokens: 24 },
    { name: 'explain-simply', description: 'Explain to a beginner, two tones', prompt_a: 'Explain this script to a beginner.', prompt_b: 'Explain this script to a beginner, with an analogy.', model: 'gemma-3-270m', temperature: 0.7, max_tokens: 24 },
    { name: 'summarise', description: 'One sentence against three bullets', prompt_a: 'Summarise the script in one sentence.', prompt_b: 'Summarise the script in three bullets.', model: 'gemma-3-270m', temperature: 0, max_tokens: 24 },
  ];
  for (const pair of pairs) await engine.api('POST', '/api/prompts', pair);

  let page = await openPage(browser, `${engine.base}/`);
  await shot(page, 'index');

  page = await openPage(browser, `${engine.base}/prompts`);
  await page.locator('body[data-ready="true"]').waitFor();
  await page.click('button[aria-label="Edit explain-simply"]');
  await page.fill('#temperature', '3');
  await page.click('#save');
  await page.locator('#temperature-error:not(:empty)').waitFor();
  await shot(page, 'prompts');

  page = await openPage(browser, `${engine.base}/compiler`);
  await page.locator('body[data-ready="true"]').waitFor();
  await page.selectOption('#sample', 'inventory.py');
  await page.locator('#status', { hasText: 'Loaded' }).waitFor();
  if (existsSync(join(repo, 'specs/examples/compiler-job'))) {
    await page.check('#execute');
    await page.click('#submit');
    await page.locator('#manifest:not([hidden])').waitFor({ timeout: 60_000 });
    await page.locator('#run-output:not(:empty)').waitFor({ timeout: 60_000 });
  }
  await shot(page, 'compiler');

  page = await openPage(browser, `${engine.base}/inference`);
  await page.locator('body[data-ready="true"]').waitFor();
  const id = await page.$eval('#pair option:nth-child(2)', (o) => o.value);
  await page.selectOption('#pair', id);
  await page.selectOption('#sample', 'word_count.py');
  await page.locator('#status', { hasText: 'Loaded' }).waitFor();
  if (existsSync(join(repo, 'specs/examples/neural-request'))) {
    await page.click('#submit');
    await page.locator('#status', { hasText: /answered|Finished/ }).waitFor({ timeout: 120_000 });
    await page.check('#show-diff');
  }
  await shot(page, 'inference');

  page = await openPage(browser, `${engine.system}/console`);
  await page.fill('#token', engine.token);
  await page.press('#token', 'Enter');
  await page.locator('body[data-ready="true"]').waitFor();
  await page.getByRole('button', { name: /^examples \(/ }).click();
  await page.locator('#graph svg').waitFor();
  await page.click('button[aria-label="Show the document of routes"]');
  await shot(page, 'console');
} finally {
  await browser.close();
  await engine.stop();
}
