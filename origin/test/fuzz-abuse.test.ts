import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkBlocks } from '../src/ingest/chunk.js';
import { documentXml, docxParagraph, docxWith, hostileDocx } from '../src/ingest/fixtures/zip.js';
import { parseDocument } from '../src/ingest/parse.js';
import { deepJson, prng, type Rng, randomJson, randomString } from './fuzz-inputs.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';

/** A whole number in [min, max). */
const between = (rng: Rng, min: number, max: number) => min + rng.int(max - min);

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const READER_BODY_MAX_BYTES = 32 * 1024;

/**
 * Reader bodies a client controls, each built to cost the origin as much as it can: oversized
 * (declared or streamed without a length), deeply nested, wide, or valid-looking but huge.
 */
function hostileReaderBody(rng: Rng): { label: string; body: string | ReadableStream<Uint8Array> } {
  const big = (n: number) => 'x'.repeat(n);
  const choices: Array<() => { label: string; body: string | ReadableStream<Uint8Array> }> = [
    () => ({
      label: 'oversized message',
      body: JSON.stringify({ message: big(between(rng, 33_000, 200_000)) }),
    }),
    () => ({
      label: 'oversized query',
      body: JSON.stringify({ query: big(between(rng, 33_000, 200_000)) }),
    }),
    () => ({
      label: 'deep array',
      body: deepJson(between(rng, 1_000, 20_000), 'array', 'message'),
    }),
    () => ({ label: 'deep object', body: deepJson(between(rng, 1_000, 5_000), 'object', 'query') }),
    () => ({
      label: 'wide object',
      body: JSON.stringify(
        Object.fromEntries(
          Array.from({ length: between(rng, 100, 3_000) }, (_, i) => [`k${i}`, i]),
        ),
      ),
    }),
    () => ({ label: 'random json', body: JSON.stringify(randomJson(rng)) }),
    () => ({ label: 'random string', body: randomString(rng) }),
    () => ({
      label: 'unicode flood',
      body: JSON.stringify({ message: '\u{1F600}'.repeat(between(rng, 1_000, 20_000)) }),
    }),
    () => {
      const total = between(rng, 40_000, 4_000_000);
      let sent = 0;
      return {
        label: `streamed ${total} bytes without a length`,
        body: new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= total) return controller.close();
            const chunk = new Uint8Array(Math.min(16_384, total - sent)).fill(0x20);
            sent += chunk.byteLength;
            controller.enqueue(chunk);
          },
        }),
      };
    },
  ];
  return rng.pick(choices)();
}

describe(`fuzzing reader routes with hostile bodies (${TEST_DB}, seed ${SEED})`, () => {
  let h: Harness;
  let key: string;
  beforeAll(async () => {
    process.stdout.write(`fuzz-abuse: FUZZ_SEED=${SEED}\n`);
    h = await startHarness({
      env: {
        RATE_LIMIT_CHAT_PER_MINUTE: '1000',
        RATE_LIMIT_SEARCH_PER_MINUTE: '1000',
        RATE_LIMIT_CLIENT_SHARE_PERCENT: '100',
        RATE_LIMIT_SITE_CHAT_PER_MINUTE: '100000',
      },
    });
    const created = await h.request('POST', '/api/v1/sites', { json: { name: 'fuzz' } });
    key = (await created.json()).site.publicKey;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 120 hostile reader bodies below 500, in the error shape, within a second each', async () => {
    const rng = prng(SEED);
    const seen = new Map<number, number>();
    for (let n = 0; n < 120; n++) {
      const { label, body } = hostileReaderBody(rng);
      const route = rng.pick(['chat', 'search']);
      const where = `case ${n} (FUZZ_SEED=${SEED}): ${route} ${label}`;
      const started = performance.now();
      const response = await h.app.request(`/api/v1/sites/fuzz/${route}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-site-key': key },
        duplex: 'half',
      } as RequestInit);
      const elapsed = performance.now() - started;
      seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
      expect(response.status, where).toBeLessThan(500);
      if (response.status >= 400) {
        const json = (await response.json()) as { error: { code: string; message: string } };
        expect(json.error.code, where).toMatch(/^[a-z_]+$/);
        expect(json.error.message, where).not.toMatch(/at .*\.ts:\d+|node_modules/);
      } else {
        await response.body?.cancel();
      }
      const size = typeof body === 'string' ? Buffer.byteLength(body) : Number.POSITIVE_INFINITY;
      if (size > READER_BODY_MAX_BYTES && typeof body === 'string')
        expect(response.status, where).toBe(413);
      expect(elapsed, where).toBeLessThan(1_000);
    }
    expect(seen.get(413) ?? 0).toBeGreaterThan(0);
    const health = await h.request('GET', '/api/v1/health');
    expect(health.status).toBe(200);
  }, 180_000);
});

/**
 * Inputs built against the parsers' regular expressions: long runs that a backtracking pattern
 * retries from every position. Each must parse (or be refused) in time linear in its size.
 */
function redosCase(
  rng: Rng,
  size: number,
): { label: string; format: 'markdown' | 'html' | 'text'; text: string } {
  const rep = (unit: string) => unit.repeat(Math.ceil(size / unit.length));
  const cases: Array<() => { label: string; format: 'markdown' | 'html' | 'text'; text: string }> =
    [
      () => ({ label: 'ATX heading of spaces', format: 'markdown', text: `# a${rep(' ')}x` }),
      () => ({
        label: 'ATX heading of tabs and #',
        format: 'markdown',
        text: `# a${rep(' \t')}#x`,
      }),
      () => ({
        label: 'unclosed emphasis',
        format: 'markdown',
        text: rep(rng.pick(['*a ', '_a ', '**a ', '~~a '])),
      }),
      () => ({
        label: 'brackets',
        format: 'markdown',
        text: rep(rng.pick(['[', '![', '[a](', '[a][', ']('])),
      }),
      () => ({ label: 'backticks', format: 'markdown', text: rep(rng.pick(['`a', '``a', '` '])) }),
      () => ({
        label: 'inline html',
        format: 'markdown',
        text: rep(rng.pick(['<a ', '<a b="', '<http:'])),
      }),
      () => ({ label: 'table delimiter', format: 'markdown', text: `|${rep(' -')}x` }),
      () => ({ label: 'thematic break', format: 'markdown', text: `${rep('- ')}x` }),
      () => ({ label: 'front matter', format: 'markdown', text: `---\n${rep('a\n')}` }),
      () => ({ label: 'entities', format: 'markdown', text: rep(rng.pick(['&#', '&#x', '&amp'])) }),
      () => ({ label: 'pre of spaces', format: 'html', text: `<pre>a${rep(' ')}x</pre>` }),
      () => ({
        label: 'unclosed tags',
        format: 'html',
        text: rep(rng.pick(['<a', '<div ', '<p x="'])),
      }),
      () => ({
        label: 'nested elements',
        format: 'html',
        text: rep(rng.pick(['<div>', '<span><b>', '<ul><li>'])),
      }),
      () => ({
        label: 'sentence ends',
        format: 'text',
        text: rep(rng.pick(['a.', 'a. ', 'Dr. ', '...'])),
      }),
      () => ({ label: 'one long word', format: 'text', text: `${rep('a')}. b` }),
    ];
  return rng.pick(cases)();
}

describe(`ReDoS: parsing stays linear on adversarial documents (seed ${SEED})`, () => {
  it('parses 40 adversarial 200,000-character documents, each within 6 s', async () => {
    const rng = prng(SEED);
    for (let n = 0; n < 40; n++) {
      const { label, format, text } = redosCase(rng, 200_000);
      const where = `case ${n} (FUZZ_SEED=${SEED}): ${format} ${label}`;
      const started = performance.now();
      try {
        const parsed = await parseDocument(format, text, 'fuzz');
        chunkBlocks(parsed.blocks, { maxTokens: 256, overlapTokens: 32 });
      } catch (error) {
        // A refusal is fine (nesting, no text); it must be one of ours, and quick.
        expect((error as { status?: number }).status, where).toBeLessThan(500);
      }
      expect(performance.now() - started, where).toBeLessThan(6_000);
    }
  }, 180_000);
});

/** A hostile or broken Word document, small on the wire. */
function hostileDocxCase(rng: Rng): { label: string; bytes: Uint8Array } {
  const cases: Array<() => { label: string; bytes: Uint8Array }> = [
    () => {
      const mb = between(rng, 60, 400);
      return { label: `lying bomb of ${mb} MB`, bytes: hostileDocx.lyingBomb(mb) };
    },
    () => {
      const depth = between(rng, 100, 20_000);
      return { label: `tables nested ${depth} deep`, bytes: hostileDocx.nestedTables(depth) };
    },
    () => {
      const chars = between(rng, 1_000_000, 25_000_000);
      return { label: `${chars} characters`, bytes: hostileDocx.longText(chars) };
    },
    () => {
      const whole = docxWith(documentXml(docxParagraph('Cut short.')));
      const at = between(rng, 1, whole.byteLength - 1);
      return { label: `cut at byte ${at}`, bytes: whole.slice(0, at) };
    },
    () => {
      const bytes = Uint8Array.from(docxWith(documentXml(docxParagraph('Flipped bytes.'))));
      for (let i = 0; i < 8; i++) bytes[rng.int(bytes.byteLength)] = rng.int(256);
      return { label: 'eight bytes flipped', bytes };
    },
  ];
  return rng.pick(cases)();
}

describe(`hostile Word documents are refused with a 4xx, quickly (seed ${SEED})`, () => {
  it('parses or refuses 16 hostile .docx files, each within 6 s', async () => {
    const rng = prng(SEED);
    for (let n = 0; n < 16; n++) {
      const { label, bytes } = hostileDocxCase(rng);
      const where = `case ${n} (FUZZ_SEED=${SEED}): ${label}`;
      const started = performance.now();
      try {
        await parseDocument('docx', bytes, 'fuzz.docx');
      } catch (error) {
        expect((error as { status?: number }).status, where).toBeGreaterThanOrEqual(400);
        expect((error as { status?: number }).status, where).toBeLessThan(500);
      }
      expect(performance.now() - started, where).toBeLessThan(6_000);
    }
  }, 180_000);
});
