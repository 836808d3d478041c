import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STUB_ANSWER_MARKUP } from '../../origin/test/llm-stub.js';
import {
  buildWeb,
  embedTag,
  hostPage,
  launchChromium,
  type Stack,
  startStack,
  watchPage,
} from './stack.js';

/**
 * Markup from a document and from the model must reach the reader as text. The document's title
 * and text carry an `<img onerror>`; the stub model (`markup`) answers with a `<script>` tag, an
 * `<img onerror>` and some Markdown. Any dialog, page error or CSP report fails the test.
 */

const DOC_TITLE = '<img src=x onerror=alert(1)> Paris guide';

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  buildWeb();
  stack = await startStack({
    model: 'markup',
    documents: [
      {
        title: DOC_TITLE,
        url: 'https://docs.example/guide',
        format: 'text',
        content:
          'Paris is the capital of France. <img src=x onerror=alert(1)> <script>alert(3)</script>',
      },
    ],
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** What the rendered answer should read as text: the Markdown syntax gone, every tag kept. */
const VISIBLE =
  'Beware <script>alert("model")</script> and <img src=x onerror=alert(2)>: Paris is the capital [1].';

async function expectInert(page: Page, root: string, problems: string[]): Promise<void> {
  const answer = page.locator(`${root} .answer`).last();
  expect(await answer.locator('p').first().textContent()).toBe(VISIBLE);
  expect(await answer.locator('strong').textContent()).toBe('Paris');
  expect(await answer.locator('li code').textContent()).toBe('<b>');
  // No element was made from the markup, anywhere in the answer.
  for (const tag of ['script', 'img', 'b', 'iframe']) {
    expect(await page.locator(`${root} ${tag}`).count(), tag).toBe(0);
  }
  const source = page.locator(`${root} .sources a`).first();
  expect(await source.textContent()).toBe(DOC_TITLE);
  // Give any injected handler the chance to run before concluding none did.
  await page.waitForTimeout(500);
  expect(problems).toEqual([]);
}

describe('markup in documents and answers', () => {
  it('is shown as text in the widget on a third-party page', async () => {
    stack.host.set('/xss', hostPage(embedTag(stack)));
    const page = await browser.newPage();
    const problems = watchPage(page);
    await page.goto(`${stack.host.url}/xss`);
    await page.locator('ragedge-chat .launcher').click();
    await page.locator('ragedge-chat textarea').fill('What is the capital of France?');
    await page.keyboard.press('Enter');
    await page.locator('ragedge-chat .sources').waitFor({ timeout: 30_000 });
    await expectInert(page, 'ragedge-chat', problems);
    expect(STUB_ANSWER_MARKUP).toContain('<script>');
    await page.close();
  });

  it('is shown as text on the chat site', async () => {
    const page = await browser.newPage();
    const problems = watchPage(page);
    await page.goto(`${stack.edge.url}/s/${stack.site.name}?key=${stack.site.key}`);
    await page.locator('#question').fill('Tell me about the capital of France');
    await page.locator('#send').click();
    await page.locator('.msg.bot .sources').waitFor({ timeout: 30_000 });
    await expectInert(page, '#log', problems);
    await page.close();
  });
});
