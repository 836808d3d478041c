import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildWeb,
  computedStyle,
  cspViolations,
  embedTag,
  hostPage,
  launchChromium,
  recordCspViolations,
  SCREENSHOTS,
  type Stack,
  startCuttableProxy,
  startHostPages,
  startStack,
  watchPage,
} from './stack.js';

/**
 * The widget on third-party pages, in headless Chromium, against the whole stack: the page is
 * served from one loopback origin, the widget and the API from the edge Worker (workerd) on
 * another, in front of the origin process on PostgreSQL, with the LLM stub answering slowly
 * enough (one token per 120 ms) that streaming can be seen.
 */

const QUESTION = 'What is the capital of France?';
const PARIS_URL = 'https://docs.example/paris';

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  buildWeb();
  stack = await startStack({
    model: 'slow-120',
    documents: [
      {
        title: 'Paris, the capital',
        url: PARIS_URL,
        format: 'markdown',
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

async function openPage(path: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 720 } });
  const problems = watchPage(page);
  await recordCspViolations(page);
  await page.goto(`${stack.host.url}${path}`);
  return { page, problems };
}

/** Opens the panel, asks, and returns the text of the answer bubble each time it changed. */
async function askAndWatch(page: Page, question = QUESTION): Promise<string[]> {
  await page.locator('ragedge-chat textarea').fill(question);
  await page.locator('ragedge-chat button[type=submit]').click();
  const answer = page.locator('ragedge-chat .msg.bot .answer').last();
  const seen: string[] = [];
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const text = (await answer.textContent()) ?? '';
    if (text !== '' && text !== seen.at(-1)) seen.push(text);
    if ((await page.locator('ragedge-chat .sources').count()) > 0) break;
    if ((await page.locator('ragedge-chat .status.error').count()) > 0) break;
    await page.waitForTimeout(40);
  }
  const final = (await answer.textContent()) ?? '';
  if (final !== seen.at(-1)) seen.push(final);
  return seen;
}

describe('the widget on a third-party page', () => {
  it('opens, streams an answer token by token, and lists its sources as links', async () => {
    stack.host.set('/plain', hostPage(embedTag(stack, { title: 'Ask the docs' })));
    const { page, problems } = await openPage('/plain');
    const launcher = page.locator('ragedge-chat .launcher');
    await launcher.waitFor({ state: 'visible', timeout: 15_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-closed.png') });
    await launcher.click();
    await expect.poll(() => page.locator('ragedge-chat .panel').isVisible()).toBe(true);
    expect(await page.locator('ragedge-chat h2').textContent()).toBe('Ask the docs');

    const seen = await askAndWatch(page);
    // Progressive: the bubble showed several growing prefixes of the answer before the whole.
    expect(seen.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.startsWith(seen[i - 1]!)).toBe(true);
    expect(seen.at(-1)).toBe('Paris is the capital of France [1]. It lies on the Seine [1].');

    const sources = page.locator('ragedge-chat .sources a');
    expect(await sources.count()).toBe(1);
    expect(await sources.first().getAttribute('href')).toBe(PARIS_URL);
    expect(await sources.first().textContent()).toBe('Paris, the capital');
    const cites = page.locator('ragedge-chat .answer a.cite');
    expect(await cites.count()).toBe(2);
    expect(await cites.first().getAttribute('href')).toBe(PARIS_URL);
    expect(await page.locator('ragedge-chat .log').getAttribute('aria-live')).toBe('polite');
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-open-answer.png') });

    // A follow-up in the same page session reuses the conversation the origin gave.
    const conversation = await page.evaluate(
      `sessionStorage.getItem('ragedge:${stack.site.name}:conversation')`,
    );
    expect(conversation).toMatch(/^[0-9a-f-]{36}$/);
    await askAndWatch(page, 'And which river?');
    const lastBody = stack.stub.requests.at(-1)?.body as { messages: Array<{ content: string }> };
    expect(JSON.stringify(lastBody.messages)).toContain('Paris is the capital of France');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('works under a strict CSP that allows only the widget origin, with no violation, from the one-attribute embed', async () => {
    const edge = stack.edge.url;
    // What a careful host sends: nothing by default, the widget's origin for script and fetch.
    // No 'unsafe-inline', no 'unsafe-eval', no style-src at all: the widget's constructed
    // stylesheet is not an inline style.
    const csp = `default-src 'none'; script-src ${edge}; connect-src ${edge}; base-uri 'none'; form-action 'none'`;
    // The one-attribute embed of the README: the public key names the site.
    const oneTag = `<script src="${stack.widgetUrl}" data-site="${stack.site.key}" async></script>`;
    stack.host.set('/strict', hostPage(oneTag), csp);
    const { page, problems } = await openPage('/strict');
    const launcher = page.locator('ragedge-chat .launcher');
    await launcher.waitFor({ state: 'visible', timeout: 15_000 });
    // The styles applied: the launcher is a round, accent-coloured button.
    expect(await computedStyle(launcher, 'borderRadius')).toBe('50%');
    expect(await computedStyle(launcher, 'backgroundColor')).toBe('rgb(29, 78, 216)');
    await launcher.click();
    const seen = await askAndWatch(page);
    expect(seen.at(-1)).toContain('Paris is the capital of France');
    expect(await page.locator('ragedge-chat .sources a').count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-strict-csp.png') });
    expect(await cspViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('tells a page whose origin the site does not allow that the chat is not enabled', async () => {
    const other = await startHostPages();
    try {
      other.set('/', hostPage(embedTag(stack)));
      const page = await browser.newPage();
      await page.goto(other.url);
      await page.locator('ragedge-chat .launcher').click();
      // Said on load, from the site's config, before the reader types anything.
      const notice = page.locator('ragedge-chat .notice.error');
      await notice.waitFor({ timeout: 20_000 });
      expect(await notice.textContent()).toBe('This chat is not enabled on this website.');
      expect(await page.locator('ragedge-chat textarea').isDisabled()).toBe(true);
      expect(await page.locator('ragedge-chat .msg').count()).toBe(0);
      await page.close();
    } finally {
      await other.close();
    }
  });

  it('survives hostile host CSS', async () => {
    const hostile =
      '<style>* { all: unset } div { display: none !important } button { display: none !important; }</style>';
    stack.host.set('/hostile', hostPage(embedTag(stack), hostile));
    const { page, problems } = await openPage('/hostile');
    const launcher = page.locator('ragedge-chat .launcher');
    await launcher.waitFor({ state: 'visible', timeout: 15_000 });
    const box = await launcher.boundingBox();
    // Still the 56 px bubble in the bottom-right corner of a 1000×720 viewport.
    expect(box).not.toBeNull();
    expect(Math.round(box!.width)).toBe(56);
    expect(box!.x + box!.width).toBeGreaterThan(900);
    expect(box!.y + box!.height).toBeGreaterThan(620);
    await launcher.click();
    expect(await page.locator('ragedge-chat .panel').isVisible()).toBe(true);
    const seen = await askAndWatch(page);
    expect(seen.at(-1)).toContain('Paris is the capital of France');
    expect(await page.locator('ragedge-chat .sources a').isVisible()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-hostile-css.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders inline into a host element when data-target is given', async () => {
    stack.host.set(
      '/inline',
      hostPage(embedTag(stack, { target: '#chat-here', greeting: 'Hello! Ask me about Paris.' })),
    );
    const { page, problems } = await openPage('/inline');
    const panel = page.locator('#chat-here ragedge-chat .panel');
    await panel.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.locator('ragedge-chat .launcher').count()).toBe(0);
    expect(await panel.getAttribute('role')).toBe('region');
    expect(await page.locator('ragedge-chat .msg.bot').first().textContent()).toBe(
      'Hello! Ask me about Paris.',
    );
    const seen = await askAndWatch(page);
    expect(seen.at(-1)).toContain('Paris is the capital of France');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('is usable by keyboard alone: open, ask, read a source excerpt, close', async () => {
    stack.host.set('/keys', hostPage(embedTag(stack)));
    const { page, problems } = await openPage('/keys');
    await page.locator('ragedge-chat .launcher').waitFor({ timeout: 15_000 });
    const active = () =>
      page.evaluate(
        `(() => { const a = document.querySelector('ragedge-chat').shadowRoot.activeElement;
          return a ? (a.getAttribute('aria-label') || a.textContent) : null; })()`,
      );
    await page.keyboard.press('Tab');
    expect(await active()).toBe('Open chat');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('ragedge-chat .panel').isVisible()).toBe(true);
    expect(await active()).toBe('Your question');
    const order: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      order.push(await active());
    }
    // Send, new chat, close, the conversation log, the question, and round again: never out of
    // the panel.
    const round = ['Send', 'New chat', 'Close chat', 'Conversation', 'Your question'];
    expect(order).toEqual([...round, ...round]);
    await page.keyboard.press('Shift+Tab');
    expect(await active()).toBe('Conversation');
    await page.keyboard.press('Tab');
    await page.keyboard.type(QUESTION);
    await page.keyboard.press('Enter');
    await page.locator('ragedge-chat .sources').waitFor({ timeout: 30_000 });
    // Back from the question through the answer's tools to the source's excerpt, and open it.
    const snippet = page.locator('ragedge-chat .sources details p');
    expect(await snippet.isVisible()).toBe(false);
    for (let i = 0; i < 8 && (await active()) !== 'Excerpt'; i++) {
      await page.keyboard.press('Shift+Tab');
    }
    expect(await active()).toBe('Excerpt');
    await page.keyboard.press('Enter');
    expect(await snippet.isVisible()).toBe(true);
    expect(await snippet.textContent()).toContain('Paris is the capital of France');
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-keyboard.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('ragedge-chat .panel').isVisible()).toBe(false);
    expect(await active()).toBe('Open chat');
    expect(await page.locator('ragedge-chat .launcher').getAttribute('aria-expanded')).toBe(
      'false',
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it('resumes a dropped answer with Last-Event-ID instead of asking again', async () => {
    // The widget and its API reached through a proxy that the test cuts in mid-answer.
    const proxy = await startCuttableProxy(stack.edge.url);
    try {
      const tag = embedTag(stack).replace(stack.widgetUrl, `${proxy.url}/widget.js`);
      stack.host.set('/resume', hostPage(tag));
      const { page, problems } = await openPage('/resume');
      await page.locator('ragedge-chat .launcher').click();
      const llmCallsBefore = stack.stub.requests.length;
      // A question not asked before in this file: a cached answer would stream all at once.
      await page.locator('ragedge-chat textarea').fill('Describe Paris and the Seine river');
      await page.keyboard.press('Enter');
      const answer = page.locator('ragedge-chat .answer').last();
      await expect.poll(async () => ((await answer.textContent()) ?? '').length).toBeGreaterThan(5);
      expect(proxy.cut()).toBeGreaterThan(0);
      await page.locator('ragedge-chat .sources').waitFor({ timeout: 30_000 });
      // Whole, in order, nothing repeated; and the model was asked once.
      expect(await answer.textContent()).toBe(
        'Paris is the capital of France [1]. It lies on the Seine [1].',
      );
      expect(stack.stub.requests.length - llmCallsBefore).toBe(1);
      expect(problems.filter((p) => !p.includes('ERR_'))).toEqual([]);
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});
