import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STUB_ANSWER } from '../../origin/test/llm-stub.js';
import {
  buildWeb,
  computedStyle,
  embedTag,
  hostPage,
  launchChromium,
  SCREENSHOTS,
  type Stack,
  startStack,
  watchPage,
} from './stack.js';

/**
 * What a reader sees around the answer, in the widget on a third-party page through the edge:
 * themes, the phone layout, suggested questions, languages, new chat / stop / copy, votes and the
 * hand-off, and each state the assistant can be in. The stub model sends a token every 60 ms.
 */

const HANDOFF = 'mailto:help@docs.example';
const SUGGESTIONS = ['What is the capital of France?', 'Which river crosses Paris?'];

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  buildWeb();
  stack = await startStack({
    model: 'slow-60',
    documents: [
      {
        title: 'Paris, the capital',
        url: 'https://docs.example/paris',
        format: 'markdown',
        content: 'Paris is the capital of France. The capital of France lies on the Seine.',
      },
    ],
  });
  await stack.admin('PATCH', `/api/v1/sites/${stack.site.name}`, {
    settings: { suggestions: SUGGESTIONS, handoffUrl: HANDOFF },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const w = (selector: string) => `ragedge-chat ${selector}`;

async function open(
  path: string,
  extra: Record<string, string> = {},
  options: { width?: number; height?: number; colorScheme?: 'light' | 'dark'; head?: string } = {},
): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({
    viewport: { width: options.width ?? 1000, height: options.height ?? 720 },
    colorScheme: options.colorScheme ?? 'light',
  });
  const problems = watchPage(page);
  stack.host.set(path, hostPage(embedTag(stack, extra), options.head));
  await page.goto(`${stack.host.url}${path}`);
  await page.locator(w('.launcher')).waitFor({ timeout: 15_000 });
  return { page, problems };
}

async function openPanel(page: Page): Promise<void> {
  await page.locator(w('.launcher')).click();
  await expect.poll(() => page.locator(w('.panel')).isVisible()).toBe(true);
}

async function askAndWait(page: Page, question: string): Promise<void> {
  const before = await page.locator(w('.tools')).count();
  await page.locator(w('textarea')).first().fill(question);
  await page.keyboard.press('Enter');
  await expect.poll(() => page.locator(w('.tools')).count(), { timeout: 30_000 }).toBe(before + 1);
}

const panelBackground = (page: Page) => computedStyle(page.locator(w('.panel')), 'backgroundColor');
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

describe('the widget: themes and layout', () => {
  it('follows the system colour scheme by default, and data-theme forces light or dark', async () => {
    const auto = await open('/theme-auto', {}, { colorScheme: 'dark' });
    await openPanel(auto.page);
    expect(await panelBackground(auto.page)).toBe('rgb(15, 23, 42)');
    await askAndWait(auto.page, 'What is the capital of France?');
    await shot(auto.page, 'widget-dark');
    await auto.page.emulateMedia({ colorScheme: 'light' });
    expect(await panelBackground(auto.page)).toBe('rgb(255, 255, 255)');
    await shot(auto.page, 'widget-light');
    expect(auto.problems).toEqual([]);
    await auto.page.close();

    const dark = await open('/theme-dark', { theme: 'dark' }, { colorScheme: 'light' });
    await openPanel(dark.page);
    expect(await panelBackground(dark.page)).toBe('rgb(15, 23, 42)');
    expect(await computedStyle(dark.page.locator(w('textarea')), 'color')).toBe(
      'rgb(241, 245, 249)',
    );
    await dark.page.close();

    const light = await open('/theme-light', { theme: 'light' }, { colorScheme: 'dark' });
    await openPanel(light.page);
    expect(await panelBackground(light.page)).toBe('rgb(255, 255, 255)');
    await light.page.close();
  });

  it('fills a 390×844 phone screen when open (dark here), with a close button in reach', async () => {
    const { page, problems } = await open(
      '/phone',
      {},
      { width: 390, height: 844, colorScheme: 'dark' },
    );
    await openPanel(page);
    const box = await page.locator(w('.panel')).boundingBox();
    expect(box).toEqual({ x: 0, y: 0, width: 390, height: 844 });
    expect(await page.locator(w('.launcher')).isVisible()).toBe(false);
    const close = page.locator(w('button.close'));
    const closeBox = (await close.boundingBox())!;
    expect(closeBox.width).toBeGreaterThanOrEqual(44);
    expect(closeBox.height).toBeGreaterThanOrEqual(44);
    expect(closeBox.y).toBeGreaterThanOrEqual(0);
    expect(closeBox.x + closeBox.width).toBeLessThanOrEqual(390);
    await askAndWait(page, 'What is the capital of France?');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(page, 'widget-mobile');
    await close.click();
    await expect.poll(() => page.locator(w('.panel')).isVisible()).toBe(false);
    expect(await page.locator(w('.launcher')).isVisible()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('the widget: suggestions, tools and languages', () => {
  it("shows the site's suggested questions, asks one on click, and starts a new chat", async () => {
    const { page, problems } = await open('/suggest');
    await openPanel(page);
    const buttons = page.locator(w('.suggest button'));
    await expect.poll(() => buttons.allTextContents()).toEqual(SUGGESTIONS);
    await shot(page, 'widget-suggestions');
    await buttons.first().click();
    await expect.poll(() => page.locator(w('.tools')).count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator(w('.msg.user')).textContent()).toBe(SUGGESTIONS[0]);
    expect(await page.locator(w('.answer')).textContent()).toBe(STUB_ANSWER);
    expect(await page.locator(w('.suggest')).count()).toBe(0);
    const conversation = `sessionStorage.getItem('ragedge:${stack.site.name}:conversation')`;
    expect(await page.evaluate(conversation)).toMatch(/^[0-9a-f-]{36}$/);

    await page.locator(w('button.new')).click();
    expect(await page.locator(w('.msg')).count()).toBe(0);
    expect(await page.evaluate(conversation)).toBeNull();
    expect(await buttons.count()).toBe(2);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('takes data-suggestions over the site setting, under a greeting', async () => {
    const { page } = await open('/suggest-own', {
      suggestions: 'How tall is it?|Is it old?',
      greeting: 'Hello!',
    });
    await openPanel(page);
    await expect
      .poll(() => page.locator(w('.suggest button')).allTextContents())
      .toEqual(['How tall is it?', 'Is it old?']);
    // Under the greeting, which is not a question asked.
    expect(await page.locator(w('.msg.bot')).textContent()).toBe('Hello!');
    await page.close();
  });

  it('stops an answer mid-stream and copies a finished one', async () => {
    const { page, problems } = await open('/tools');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: stack.host.url,
    });
    await openPanel(page);
    await page.locator(w('textarea')).fill('Where does the capital of France lie?');
    await page.keyboard.press('Enter');
    const stop = page.locator(w('button.stop'));
    await expect.poll(() => stop.isVisible()).toBe(true);
    expect(await page.locator(w('button[type=submit]')).isVisible()).toBe(false);
    await expect
      .poll(async () => ((await page.locator(w('.answer')).textContent()) ?? '').length)
      .toBeGreaterThan(5);
    await stop.click();
    await expect.poll(() => page.locator(w('.status')).last().textContent()).toBe('Stopped.');
    const partial = (await page.locator(w('.answer')).textContent()) ?? '';
    expect(STUB_ANSWER.startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(STUB_ANSWER.length);
    expect(await page.locator(w('button[type=submit]')).isVisible()).toBe(true);

    await askAndWait(page, 'What is the capital of France?');
    const copy = page.locator(w('.tools button[aria-label="Copy"]'));
    await copy.click();
    await expect.poll(() => copy.textContent()).toBe('Copied');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(STUB_ANSWER);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('speaks French with data-lang, Spanish from the page, and Arabic right to left', async () => {
    const fr = await open('/fr', { lang: 'fr' });
    expect(await fr.page.locator(w('.launcher')).getAttribute('aria-label')).toBe('Ouvrir le chat');
    await openPanel(fr.page);
    expect(await fr.page.locator(w('h2')).textContent()).toBe('The docs');
    expect(await fr.page.locator(w('textarea')).getAttribute('placeholder')).toBe(
      'Posez une question…',
    );
    expect(await fr.page.locator(w('button[type=submit]')).textContent()).toBe('Envoyer');
    await askAndWait(fr.page, 'What is the capital of France?');
    expect(await fr.page.locator(w('.sources')).getAttribute('aria-label')).toBe('Sources');
    expect(await fr.page.locator(w('.tools button')).first().textContent()).toBe('Copier');
    await shot(fr.page, 'widget-french');
    await fr.page.close();

    stack.host.set(
      '/es',
      hostPage(embedTag(stack)).replace('<html lang="en">', '<html lang="es-MX">'),
    );
    const page = await browser.newPage();
    await page.goto(`${stack.host.url}/es`);
    await openPanel(page);
    expect(await page.locator(w('button[type=submit]')).textContent()).toBe('Enviar');
    expect(await page.locator(w('.panel')).getAttribute('dir')).toBe('ltr');
    await page.close();

    const ar = await open('/ar', { lang: 'ar' });
    await openPanel(ar.page);
    expect(await ar.page.locator(w('.panel')).getAttribute('dir')).toBe('rtl');
    expect(await ar.page.locator(w('button[type=submit]')).textContent()).toBe('إرسال');
    await askAndWait(ar.page, 'What is the capital of France?');
    // Right to left: the reader's question sits on the left, the answer on the right.
    const panel = (await ar.page.locator(w('.panel')).boundingBox())!;
    const question = (await ar.page.locator(w('.msg.user')).boundingBox())!;
    const answer = (await ar.page.locator(w('.msg.bot')).boundingBox())!;
    expect(question.x - panel.x).toBeLessThan(30);
    expect(panel.x + panel.width - (answer.x + answer.width)).toBeLessThan(30);
    await shot(ar.page, 'widget-arabic');
    expect(ar.problems).toEqual([]);
    await ar.page.close();
  });
});

describe('the widget: refusals and failures, each in its own words', () => {
  it('says when the documents hold no answer, and offers the hand-off with the question', async () => {
    const { page, problems } = await open('/refused');
    await openPanel(page);
    const question = 'zqxv blorft wumpus glaive?';
    await askAndWait(page, question);
    const bubble = page.locator(w('.msg.bot')).last();
    expect(await bubble.getAttribute('class')).toContain('refused');
    expect(await bubble.locator('.answer').textContent()).toBe(
      "I couldn't find an answer to that in these documents.",
    );
    expect(await bubble.locator('.sources').count()).toBe(0);
    expect(await bubble.locator('.status.error').count()).toBe(0);
    const handoff = bubble.locator('a.handoff');
    expect(await handoff.textContent()).toBe('Still stuck? Contact us');
    const href = (await handoff.getAttribute('href')) ?? '';
    expect(href.startsWith(`${HANDOFF}?subject=`)).toBe(true);
    expect(decodeURIComponent(href.split('body=')[1] ?? '')).toBe(question);
    await shot(page, 'widget-refused');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('says "not enabled on this site" as soon as it loads on a page the site does not allow', async () => {
    const { page } = await open('/wrong-key', { key: 'pk_AAAAAAAAAAAAAAAAAAAAAAAA' });
    await openPanel(page);
    const notice = page.locator(w('.notice'));
    await expect
      .poll(() => notice.textContent(), { timeout: 15_000 })
      .toBe('This chat is not enabled on this website.');
    expect(await page.locator(w('textarea')).isDisabled()).toBe(true);
    await shot(page, 'widget-not-enabled');
    await page.close();
  });

  it('retries an unreachable assistant with backoff, says so, and answers once it is back', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 720 } });
    stack.host.set('/flaky', hostPage(embedTag(stack)));
    // The network drops the first requests of each kind, as a connection that is down would.
    const refused = { config: 0, chat: 0 };
    await page.route('**/api/v1/sites/*/config', (route) =>
      refused.config++ < 2 ? route.abort('connectionrefused') : route.continue(),
    );
    await page.goto(`${stack.host.url}/flaky`);
    await openPanel(page);
    await expect
      .poll(() => page.locator(w('.notice')).textContent(), { timeout: 5_000 })
      .toBe("Can't reach the assistant. Retrying…");
    await shot(page, 'widget-retrying');
    // Back after two refusals (1 s, then 2 s later): the notice goes, the suggestions come.
    await expect
      .poll(() => page.locator(w('.suggest button')).count(), { timeout: 15_000 })
      .toBe(2);
    expect(await page.locator(w('.notice')).isVisible()).toBe(false);

    await page.route('**/api/v1/sites/*/chat', (route) =>
      refused.chat++ < 1 ? route.abort('connectionrefused') : route.continue(),
    );
    await page.locator(w('textarea')).fill('What is the capital of France?');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.locator(w('.msg.bot .status')).textContent(), { timeout: 5_000 })
      .toBe("Can't reach the assistant. Retrying…");
    await expect.poll(() => page.locator(w('.tools')).count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator(w('.answer')).textContent()).toBe(STUB_ANSWER);
    expect(refused).toEqual({ config: 3, chat: 2 });
    await page.close();
  });

  it('tells a down origin from a refusal, after a reload too: retrying, then unreachable', async () => {
    // Last in this file: the origin process is stopped for good.
    await stack.origin.stop();
    const { page } = await open('/origin-down');
    await openPanel(page);
    const notice = page.locator(w('.notice'));
    await expect
      .poll(() => notice.textContent(), { timeout: 10_000 })
      .toBe("Can't reach the assistant. Retrying…");
    // 1 + 2 + 4 + 8 s of backoff, then it gives up and says so (not "not enabled").
    await expect
      .poll(() => notice.textContent(), { timeout: 40_000 })
      .toBe("The assistant can't be reached right now. Please try again later.");
    expect(await page.locator(w('textarea')).isDisabled()).toBe(false);
    await shot(page, 'widget-unreachable');
    await page.close();
  });
});
