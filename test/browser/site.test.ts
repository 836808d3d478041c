import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../../origin/test/harness.js';
import { STUB_ANSWER } from '../../origin/test/llm-stub.js';
import {
  buildWeb,
  computedStyle,
  launchChromium,
  SCREENSHOTS,
  type Stack,
  startStack,
  watchPage,
} from './stack.js';

/**
 * The chat site as the edge Worker serves it (static assets in workerd, `/api/*` forwarded to the
 * origin process), in headless Chromium. The stub LLM sends one token every 250 ms so that a
 * question can be stopped halfway.
 */

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
/** Every URL the site requested. */
const requested: string[] = [];

beforeAll(async () => {
  buildWeb();
  stack = await startStack({
    model: 'slow-250',
    documents: [
      {
        title: 'Paris, the capital',
        url: 'https://docs.example/paris',
        format: 'markdown',
        content: 'Paris is the capital of France. The capital of France lies on the Seine.',
      },
    ],
  });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: stack.edge.url,
  });
  page = await context.newPage();
  problems = watchPage(page);
  page.on('request', (request) => requested.push(request.url()));
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const siteUrl = () => `${stack.edge.url}/s/${stack.site.name}?key=${stack.site.key}`;
const answers = () => page.locator('.msg.bot .answer');

async function ask(question: string): Promise<void> {
  await page.locator('#question').fill(question);
  await page.locator('#send').click();
}

async function waitForAnswer(count: number): Promise<void> {
  await expect
    .poll(() => page.locator('.msg.bot .sources').count(), { timeout: 30_000 })
    .toBe(count);
}

describe('the chat site', () => {
  it('streams an answer with its sources, and copies it', async () => {
    await page.goto(siteUrl());
    await expect.poll(() => page.locator('#site-title').textContent()).toBe('The docs');
    expect(await page.title()).toBe('The docs');
    await ask('What is the capital of France?');
    await expect.poll(() => page.locator('#stop').isVisible()).toBe(true);
    await waitForAnswer(1);
    expect(await answers().first().textContent()).toBe(STUB_ANSWER);
    expect(await page.locator('.sources a').first().getAttribute('href')).toBe(
      'https://docs.example/paris',
    );
    expect(await page.locator('#stop').isVisible()).toBe(false);
    await page.locator('.tools button', { hasText: /^Copy$/ }).click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(STUB_ANSWER);
    await page.screenshot({ path: join(SCREENSHOTS, 'site-light.png') });
  });

  it('stops an answer mid-stream, and the origin stops producing it', async () => {
    const closedBefore = stack.stub.closedConnections();
    await ask('Where does the capital of France lie?');
    // Wait until a few tokens are shown, then stop.
    await expect
      .poll(async () => (await answers().nth(1).textContent())?.length ?? 0, { timeout: 15_000 })
      .toBeGreaterThan(10);
    await page.locator('#stop').click();
    await expect
      .poll(() => page.locator('.msg.bot > .status').nth(1).textContent())
      .toBe('Stopped.');
    const partial = (await answers().nth(1).textContent()) ?? '';
    expect(partial.length).toBeGreaterThan(0);
    expect(STUB_ANSWER.startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(STUB_ANSWER.length);
    expect(await page.locator('#send').isDisabled()).toBe(false);
    expect(await page.locator('#stop').isVisible()).toBe(false);
    // Cancelling the fetch closes the stream through the edge; the origin then aborts the LLM call.
    await expect
      .poll(() => stack.stub.closedConnections(), { timeout: 15_000 })
      .toBeGreaterThan(closedBefore);
    // Nothing more arrives after the stop.
    await page.waitForTimeout(1_000);
    expect(await answers().nth(1).textContent()).toBe(partial);
  });

  it('answers the next question, and finds the conversation after a reload', async () => {
    await ask('And the river?');
    // A stopped answer has no `done`, so no cited sources: this is the second list.
    await waitForAnswer(2);
    expect(await answers().nth(2).textContent()).toBe(STUB_ANSWER);
    await page.reload();
    const conversations = page.locator('#conversations button');
    await expect.poll(() => conversations.count()).toBe(1);
    expect(await conversations.first().textContent()).toBe('What is the capital of France?');
    expect(await page.locator('.msg.user').allTextContents()).toEqual([
      'What is the capital of France?',
      'Where does the capital of France lie?',
      'And the river?',
    ]);
    expect(await page.locator('.msg.bot > .status').nth(1).textContent()).toBe('Stopped.');
    // A new chat, then back to the stored one from the list.
    await page.locator('#new-chat').click();
    expect(await page.locator('.msg').count()).toBe(0);
    await conversations.first().click();
    expect(await page.locator('.msg.user').count()).toBe(3);
  });

  it('follows the system dark mode', async () => {
    const light = await computedStyle(page.locator('body'), 'backgroundColor');
    expect(light).toBe('rgb(255, 255, 255)');
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await computedStyle(page.locator('body'), 'backgroundColor');
    const [r, g, b] = (dark.match(/\d+/g) ?? []).map(Number);
    expect(Math.max(r!, g!, b!)).toBeLessThan(60);
    expect(await computedStyle(page.locator('body'), 'color')).toBe('rgb(241, 245, 249)');
    await page.screenshot({ path: join(SCREENSHOTS, 'site-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('lays out for a phone: the list above the chat, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    const sidebar = await page.locator('.sidebar').boundingBox();
    const main = await page.locator('.main').boundingBox();
    expect(sidebar!.width).toBeGreaterThan(380);
    expect(main!.y).toBeGreaterThanOrEqual(sidebar!.y + sidebar!.height - 1);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SCREENSHOTS, 'site-mobile.png') });
    await page.setViewportSize({ width: 1100, height: 760 });
  });

  it('tells the reader about maintenance in words', async () => {
    await stack.edge.setMaintenance(true);
    try {
      await page.locator('#new-chat').click();
      await ask('What is the capital of France?');
      await expect
        .poll(() => page.locator('.msg.bot > .status.error').textContent(), { timeout: 20_000 })
        .toBe(
          'The assistant is down for maintenance right now. Please try again in a few minutes.',
        );
    } finally {
      await stack.edge.setMaintenance(false);
    }
  });

  it('talks only to its own host and ships no secret', async () => {
    const own = new URL(stack.edge.url).origin;
    expect(requested.length).toBeGreaterThan(0);
    for (const url of requested) expect(new URL(url).origin).toBe(own);
    for (const file of ['/site.js', '/widget.js']) {
      const text = await (await fetch(`${stack.edge.url}${file}`)).text();
      expect(text).not.toContain(ADMIN_TOKEN);
      expect(text).not.toMatch(/sk-[A-Za-z0-9]{10}|pk_[A-Za-z0-9_-]{20}/);
    }
    expect(problems.filter((p) => !p.includes('status of 503'))).toEqual([]);
  });
});
