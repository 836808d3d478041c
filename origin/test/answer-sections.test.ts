import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_AROUND_RANK, sourcesOf, withDocument, withSections } from '../src/chat/sources.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { answerText, readSse } from './sse.js';

/**
 * A section longer than one chunk: the sentence that matches the question is in its first chunk,
 * the command that answers it in a later one (chunks of 32 tokens, 8 of overlap).
 */
const BACKUPS = [
  '# Operations',
  '',
  '## Nightly backups',
  '',
  'The nightly backup job keeps seven compressed dumps of the database on the server. It runs at two in the morning, when readers are few.',
  '',
  'Old dumps are removed by the same job once there are more than seven of them. Nothing else touches the folder.',
  '',
  'Schedule the backup job with this command:',
  '',
  '```sh',
  "npx rag backup --schedule '0 2 * * *' --keep 7",
  '```',
  '',
  '## Upgrades',
  '',
  'Upgrades replace the image and run the migrations.',
].join('\n');

describe(`answers read the whole section of what was found (${TEST_DB})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { CHUNK_MAX_TOKENS: '32', CHUNK_OVERLAP_TOKENS: '8' } });
    await h.createSite('ops');
    const response = await h.request('POST', '/api/v1/sites/ops/documents', {
      json: { documents: [{ title: 'Operations', content: BACKUPS }] },
    });
    expect(response.status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('stores the section in several chunks (the premise of this test)', async () => {
    const { rows } = await h.services.db.pool.query<{ n: number }>(
      `select count(*)::int as n from chunks where heading_path[cardinality(heading_path)] = 'Nightly backups'`,
    );
    expect(rows[0]!.n).toBeGreaterThanOrEqual(3);
  });

  it('gives the answerer the whole section, each chunk overlap said once, and nothing of the next', async () => {
    const found = await h.request('POST', '/api/v1/sites/ops/search', {
      json: { query: 'nightly backup compressed dumps', k: 1, mode: 'fulltext', rerank: false },
    });
    const [retrieved] = sourcesOf((await found.json()).results);
    expect(retrieved!.text).not.toContain('npx rag backup');
    const [whole] = await withSections(h.services.db.pool, [retrieved!]);
    expect(whole!.text).toContain('keeps seven compressed dumps');
    expect(whole!.text).toContain("npx rag backup --schedule '0 2 * * *' --keep 7");
    expect(whole!.text.split('Nothing else touches the folder.')).toHaveLength(2);
    expect(whole!.text).not.toContain('Upgrades replace');
  });

  it('quotes the command from a later chunk of the section the question matched', async () => {
    const response = await h.request('POST', '/api/v1/sites/ops/chat', {
      json: { message: 'How do I schedule the nightly backup job?' },
    });
    const items = (await readSse(response.body!)).filter((i) => i.event);
    expect(answerText(items)).toContain("npx rag backup --schedule '0 2 * * *' --keep 7");
    expect(items.at(-1)!.data).toMatchObject({ finishReason: 'stop' });
  });

  it('reads the other sections of a short top document, ranked after the retrieved ones', async () => {
    const found = await h.request('POST', '/api/v1/sites/ops/search', {
      json: { query: 'upgrades replace the image', k: 1, mode: 'fulltext', rerank: false },
    });
    const retrieved = sourcesOf((await found.json()).results);
    expect(retrieved.map((s) => s.headingPath.at(-1))).toEqual(['Upgrades']);
    const read = await withDocument(h.services.db.pool, retrieved, 12_000);
    const around = read.slice(1);
    expect(around.length).toBeGreaterThan(0);
    expect(
      around.every((s) => s.rank === READ_AROUND_RANK && s.documentId === retrieved[0]!.documentId),
    ).toBe(true);
    expect(around.map((s) => s.n)).toEqual(around.map((_, i) => i + 2));
    expect(around.some((s) => s.text.includes('npx rag backup'))).toBe(true);
    expect(new Set(read.map((s) => JSON.stringify(s.headingPath))).size).toBe(read.length);
    // A document longer than the generator reads is left as retrieved.
    expect(await withDocument(h.services.db.pool, retrieved, 100)).toEqual(retrieved);
  });

  it('stores code in its fence with its language, and quotes it so', async () => {
    const { rows } = await h.services.db.pool.query<{ content: string }>(
      `select content from chunks where content like '%npx rag backup%'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.content).toContain(
      "```sh\nnpx rag backup --schedule '0 2 * * *' --keep 7\n```",
    );
    const response = await h.request('POST', '/api/v1/sites/ops/chat', {
      json: { message: 'Which command schedules the backup job?' },
    });
    const items = (await readSse(response.body!)).filter((i) => i.event);
    expect(answerText(items)).toContain(
      "Schedule the backup job with this command:\n\n```sh\nnpx rag backup --schedule '0 2 * * *' --keep 7\n```",
    );
  });
});
