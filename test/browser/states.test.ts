import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildWeb,
  embedTag,
  hostPage,
  launchChromium,
  SCREENSHOTS,
  type Stack,
  startStack,
  watchPage,
} from './stack.js';

/**
 * The widget's words for the origin's refusals, on a third-party page through the edge: the
 * origin here allows two questions a minute per reader, so the third is a real 429.
 */

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  buildWeb();
  stack = await startStack({
    model: 'echo',
    originEnv: { RATE_LIMIT_CHAT_PER_MINUTE: '2' },
    documents: [
      {
        title: 'Paris, the capital',
        url: 'https://docs.example/paris',
        content: 'Paris is the capital of France. The capital of France lies on the Seine.',
      },
    ],
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the widget when the origin refuses', () => {
  it('says how long to wait when the reader has asked too much (429 with Retry-After)', async () => {
    stack.host.set('/limits', hostPage(embedTag(stack)));
    const page = await browser.newPage();
    const problems = watchPage(page);
    await page.goto(`${stack.host.url}/limits`);
    await page.locator('ragedge-chat .launcher').click();
    const questions = ['What is the capital of France?', 'Where is it?', 'Which river?'];
    for (const [i, question] of questions.entries()) {
      await page.locator('ragedge-chat textarea').fill(question);
      await page.keyboard.press('Enter');
      await expect
        .poll(
          async () =>
            (await page.locator('ragedge-chat .sources').count()) +
            (await page.locator('ragedge-chat .status.error').count()),
          { timeout: 30_000 },
        )
        .toBe(i + 1);
    }
    expect(await page.locator('ragedge-chat .sources').count()).toBe(2);
    const refusal = (await page.locator('ragedge-chat .status.error').textContent()) ?? '';
    const seconds = Number(/wait (\d+) seconds/.exec(refusal)?.[1]);
    expect(refusal).toMatch(
      /^Too many questions right now\. Please wait \d+ seconds and try again\.$/,
    );
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(60);
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-rate-limited.png') });
    // The refused request's 429 is the only console noise the browser itself reports.
    expect(problems.filter((p) => !p.includes('status of 429'))).toEqual([]);
    await page.close();
  });

  it('says the assistant is down for maintenance when the edge has the flag set', async () => {
    stack.host.set('/maintenance', hostPage(embedTag(stack)));
    const page = await browser.newPage();
    await page.goto(`${stack.host.url}/maintenance`);
    await page.locator('ragedge-chat .launcher').click();
    await stack.edge.setMaintenance(true);
    try {
      await page.locator('ragedge-chat textarea').fill('What is the capital of France?');
      await page.keyboard.press('Enter');
      await expect
        .poll(() => page.locator('ragedge-chat .status.error').textContent(), { timeout: 10_000 })
        .toBe(
          'The assistant is down for maintenance right now. Please try again in a few minutes.',
        );
      await page.screenshot({ path: join(SCREENSHOTS, 'widget-maintenance.png') });
    } finally {
      await stack.edge.setMaintenance(false);
    }
    await page.close();
  });
});
