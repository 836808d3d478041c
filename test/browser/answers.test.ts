import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
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
 * An answer as a reader reads it, in the widget and on the chat site: rendered Markdown (a table
 * and a code block), the cited sources as "Title › Heading" links with their excerpt on demand,
 * the start of a long answer kept in view, votes with a comment and the hand-off link, and the
 * chat site's landing page, title, language and shareable links. The stub model (`rich`) answers
 * at length with a table and a code block, citing [1].
 */

const GUIDE_URL = 'https://docs.example/paris-guide';
const HANDOFF = 'https://help.docs.example/contact';

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  buildWeb();
  stack = await startStack({
    model: 'rich',
    documents: [
      {
        title: 'Paris guide',
        url: GUIDE_URL,
        format: 'markdown',
        content:
          '# Paris guide\n\n## Getting there\n\nParis is the capital of France. Trains from London arrive at the Gare du Nord.\n',
      },
    ],
  });
  await stack.admin('PATCH', `/api/v1/sites/${stack.site.name}`, {
    settings: { handoffUrl: HANDOFF, suggestions: ['How do I get to Paris?'] },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function waitForTools(page: Page, root: string, count: number): Promise<void> {
  await expect.poll(() => page.locator(`${root} .tools`).count(), { timeout: 30_000 }).toBe(count);
}

/** The answer's structure, the same in the widget and on the site. */
async function expectRichAnswer(page: Page, root: string): Promise<void> {
  const answer = page.locator(`${root} .answer`).last();
  expect(await answer.locator('table th').allTextContents()).toEqual(['Setting', 'Value']);
  expect(await answer.locator('table tbody tr').count()).toBe(2);
  expect(await answer.locator('td code').textContent()).toBe('shared_buffers');
  expect(await answer.locator('pre code').textContent()).toBe('rag serve --port 8000');
  expect(await answer.locator('li').count()).toBe(14);
  const cites = answer.locator('a.cite');
  expect(await cites.first().getAttribute('href')).toBe(GUIDE_URL);

  const sources = page.locator(`${root} .sources`).last();
  const link = sources.locator('li > a');
  expect(await link.count()).toBe(1);
  expect(await link.textContent()).toBe('Paris guide › Getting there');
  expect(await link.getAttribute('href')).toBe(GUIDE_URL);
  expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
  const excerpt = sources.locator('details p');
  expect(await excerpt.isVisible()).toBe(false);
  await sources.locator('summary').click();
  expect(await excerpt.textContent()).toContain('Trains from London arrive at the Gare du Nord.');
}

/** The question of the last answer is in view in `log`, though the answer runs past its bottom. */
async function expectStartInView(page: Page, log: string, root: string): Promise<void> {
  const box = (await page.locator(log).boundingBox())!;
  const question = (await page.locator(`${root} .msg.user`).last().boundingBox())!;
  expect(question.y).toBeGreaterThanOrEqual(box.y - 1);
  expect(question.y + question.height).toBeLessThanOrEqual(box.y + box.height);
  const scroll = (await page
    .locator(log)
    .evaluate((e) => ({ top: e.scrollTop, max: e.scrollHeight - e.clientHeight }))) as {
    top: number;
    max: number;
  };
  // Not scrolled to the bottom: the reader starts at the top of the answer.
  expect(scroll.max - scroll.top).toBeGreaterThan(100);
}

describe('an answer in the widget', () => {
  it('renders a table and a code block, lists the cited source with its excerpt, and keeps the start in view', async () => {
    stack.host.set('/rich', hostPage(embedTag(stack)));
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const problems = watchPage(page);
    await page.goto(`${stack.host.url}/rich`);
    await page.locator('ragedge-chat .launcher').click();
    await page.locator('ragedge-chat textarea').fill('How do I get to Paris?');
    await page.keyboard.press('Enter');
    await waitForTools(page, 'ragedge-chat', 1);
    await expectStartInView(page, 'ragedge-chat .log', 'ragedge-chat');
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-long-answer.png') });
    await expectRichAnswer(page, 'ragedge-chat');
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-sources.png') });

    await page.locator('ragedge-chat textarea').fill('And where do the trains from London arrive?');
    await page.keyboard.press('Enter');
    await waitForTools(page, 'ragedge-chat', 2);
    await expectStartInView(page, 'ragedge-chat .log', 'ragedge-chat');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('takes a vote down with a comment, then offers the hand-off with the question', async () => {
    stack.host.set('/vote', hostPage(embedTag(stack)));
    const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
    const problems = watchPage(page);
    // The real `done` fields and the real feedback route: every vote the widget posts is seen.
    const votes = watchVotes(page);
    await page.goto(`${stack.host.url}/vote`);
    await page.locator('ragedge-chat .launcher').click();
    const question = 'How do I get to Paris?';
    await page.locator('ragedge-chat .suggest button').click();
    await waitForTools(page, 'ragedge-chat', 1);
    const tools = page.locator('ragedge-chat .tools');
    expect(await tools.locator('a.handoff').count()).toBe(0);
    await tools.locator('button[aria-label="Not helpful"]').click();
    await tools.locator('textarea').fill('It does not say how long the train takes.');
    await tools.locator('button', { hasText: 'Send' }).click();
    await expect.poll(() => votes.length).toBe(2);
    const token = (votes[0]!.body as { token?: unknown }).token;
    expect(typeof token).toBe('string');
    expect(votes.map((v) => v.body)).toEqual([
      { rating: 'down', token },
      { rating: 'down', comment: 'It does not say how long the train takes.', token },
    ]);
    expect(votes.map((v) => v.status)).toEqual([200, 200]);
    expect(votes[0]!.key).toBe(stack.site.key);
    expect(votes[0]!.url).toMatch(
      new RegExp(`^${stack.edge.url}/api/v1/sites/${stack.site.name}/messages/[^/]+/feedback$`),
    );
    // Stored, once per answer: the operator's log lists it as downvoted, with the comment.
    const log = (await stack.admin(
      'GET',
      `/api/v1/sites/${stack.site.name}/questions?filter=downvoted`,
      undefined,
    )) as { questions: Array<{ question: string; feedback: { comment: string | null } }> };
    expect(log.questions.map((q) => [q.question, q.feedback.comment])).toEqual([
      [question, 'It does not say how long the train takes.'],
    ]);
    await expect
      .poll(() => tools.locator('.status').textContent())
      .toBe('Thanks for your feedback.');
    expect(
      await tools.locator('button[aria-label="Not helpful"]').getAttribute('aria-pressed'),
    ).toBe('true');
    const handoff = tools.locator('a.handoff');
    expect(await handoff.textContent()).toBe('Still stuck? Contact us');
    const href = new URL((await handoff.getAttribute('href'))!);
    expect(`${href.origin}${href.pathname}`).toBe(HANDOFF);
    expect(href.searchParams.get('question')).toBe(question);
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-feedback.png') });
    expect(problems).toEqual([]);
    await page.close();
  });
});

/** The feedback POSTs a page makes, with the status the real route gave each. */
function watchVotes(
  page: Page,
): Array<{ url: string; body: unknown; key: string | null; status: number }> {
  const votes: Array<{ url: string; body: unknown; key: string | null; status: number }> = [];
  page.on('response', async (response) => {
    const request = response.request();
    if (request.method() !== 'POST' || !/\/messages\/[^/]+\/feedback$/.test(request.url())) return;
    votes.push({
      url: request.url(),
      body: request.postDataJSON(),
      key: await request.headerValue('x-site-key'),
      status: response.status(),
    });
  });
  return votes;
}

describe('the chat site', () => {
  it('welcomes a visitor at / with what this is and how to open a chat', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const problems = watchPage(page);
    await page.goto(`${stack.edge.url}/`);
    expect(await page.locator('#landing h1').textContent()).toBe('Ask the docs');
    expect(await page.locator('#landing').textContent()).toContain('/s/<site>?key=<public key>');
    expect(await page.locator('#app').isVisible()).toBe(false);
    expect(await page.locator('.error').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'site-landing.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows the site's title, the same answer, and a link that asks the question again", async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: stack.edge.url,
    });
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(`${stack.edge.url}/s/${stack.site.name}?key=${stack.site.key}`);
    await expect.poll(() => page.locator('#site-title').textContent()).toBe('The docs');
    await page.locator('.suggest button').click();
    await waitForTools(page, '#log', 1);
    await expectStartInView(page, '#log', '#log');
    await page.screenshot({ path: join(SCREENSHOTS, 'site-answer.png') });
    await expectRichAnswer(page, '#log');
    await page.screenshot({ path: join(SCREENSHOTS, 'site-sources.png') });

    await page.locator('.tools button.share').click();
    const link = String(await page.evaluate('navigator.clipboard.readText()'));
    const url = new URL(link);
    expect(url.pathname).toBe(`/s/${stack.site.name}`);
    expect(url.searchParams.get('q')).toBe('How do I get to Paris?');

    // Opened elsewhere, the link asks its question in a new conversation, once.
    const other = await context.newPage();
    await other.goto(link);
    await waitForTools(other, '#log', 1);
    expect(await other.locator('.msg.user').allTextContents()).toEqual(['How do I get to Paris?']);
    expect(new URL(other.url()).searchParams.get('q')).toBeNull();
    expect(await other.locator('#conversations button').count()).toBe(2);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("speaks the site's language by default, and says when a key is not this site's", async () => {
    const created = await stack.admin('POST', '/api/v1/sites', {
      name: 'guide-fr',
      title: 'Le guide',
    });
    const frKey = String((created.site as { publicKey: string }).publicKey);
    await stack.admin('PATCH', '/api/v1/sites/guide-fr', { settings: { lang: 'fr' } });
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(`${stack.edge.url}/s/guide-fr?key=${frKey}`);
    await expect.poll(() => page.locator('#site-title').textContent()).toBe('Le guide');
    expect(await page.locator('#send').textContent()).toBe('Envoyer');
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');

    await page.goto(`${stack.edge.url}/s/guide-fr?key=${stack.site.key}&lang=en`);
    await expect
      .poll(() => page.locator('#notice').textContent(), { timeout: 15_000 })
      .toBe('This chat is not enabled on this website.');
    expect(await page.locator('#send').isDisabled()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'site-not-enabled.png') });
    await page.close();
  });

  it('retries an unreachable assistant, and tells a refusal with the hand-off', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    let refused = 0;
    await page.route('**/api/v1/sites/*/config', (route) =>
      refused++ < 1 ? route.abort('connectionrefused') : route.continue(),
    );
    await page.goto(`${stack.edge.url}/s/${stack.site.name}?key=${stack.site.key}`);
    await expect
      .poll(() => page.locator('#notice').textContent(), { timeout: 5_000 })
      .toBe("Can't reach the assistant. Retrying…");
    await expect.poll(() => page.locator('#notice').isVisible(), { timeout: 10_000 }).toBe(false);
    await expect.poll(() => page.locator('#site-title').textContent()).toBe('The docs');

    const question = 'zqxv blorft wumpus glaive?';
    await page.locator('#question').fill(question);
    await page.locator('#send').click();
    await waitForTools(page, '#log', 1);
    const bubble = page.locator('#log .msg.bot').last();
    expect(await bubble.locator('.answer').textContent()).toBe(
      "I couldn't find an answer to that in these documents.",
    );
    expect(await bubble.locator('.sources').count()).toBe(0);
    const href = new URL((await bubble.locator('a.handoff').getAttribute('href'))!);
    expect(href.searchParams.get('question')).toBe(question);
    await page.screenshot({ path: join(SCREENSHOTS, 'site-refused.png') });
    await page.close();
  });

  it("takes a vote up on the chat site with the answer's feedback token", async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const votes = watchVotes(page);
    await page.goto(`${stack.edge.url}/s/${stack.site.name}?key=${stack.site.key}`);
    await page.locator('#question').fill('How do I get to Paris?');
    await page.locator('#send').click();
    await waitForTools(page, '#log', 1);
    await page.locator('.tools button[aria-label="Helpful"]').click();
    await expect.poll(() => votes.length).toBe(1);
    expect(votes[0]!.body).toEqual({ rating: 'up', token: expect.any(String) });
    expect(votes[0]!.status).toBe(200);
    await expect
      .poll(() => page.locator('.tools .status').textContent())
      .toBe('Thanks for your feedback.');
    expect(await page.locator('.tools a.handoff').count()).toBe(0);
    await page.close();
  });

  it('speaks the language asked for', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(`${stack.edge.url}/s/${stack.site.name}?key=${stack.site.key}&lang=es`);
    await expect.poll(() => page.locator('#send').textContent()).toBe('Enviar');
    expect(await page.locator('#new-chat').textContent()).toBe('Nuevo chat');
    expect(await page.locator('html').getAttribute('lang')).toBe('es');
    await page.close();
  });
});
