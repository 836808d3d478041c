import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordExchange } from '../src/store/conversations.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';

/**
 * One exchange per chat stream whatever the order: an origin that took an answer over (a higher
 * lease generation) and the producer it took it from (paused, not dead) may both reach the store.
 */
describe(`a fenced exchange (${TEST_DB})`, () => {
  let h: Harness;
  let siteId: number;
  beforeAll(async () => {
    h = await startHarness();
    await h.createSite('fence');
    const { rows } = await h.services.db.pool.query<{ id: number }>(
      "select id from sites where name = 'fence'",
    );
    siteId = rows[0]!.id;
  });
  afterAll(async () => {
    await h?.close();
  });

  const store = (conversationId: string, content: string, streamId: string, generation: number) =>
    recordExchange(
      h.services.db.pool,
      siteId,
      conversationId,
      'How long are dumps kept?',
      { content, sources: [], cited: [], status: content === '' ? 'error' : 'complete' },
      null,
      { streamId, generation },
    );
  const messages = async (conversationId: string) => {
    const { rows } = await h.services.db.pool.query<{ role: string; content: string }>(
      'select role, content from messages where conversation_id = $1 order by id',
      [conversationId],
    );
    const count = await h.services.db.pool.query<{ message_count: number }>(
      'select message_count from conversations where id = $1',
      [conversationId],
    );
    return { rows, count: count.rows[0]?.message_count };
  };
  const streamId = () => randomUUID().replace(/-/g, '').slice(0, 12);

  it('refuses the paused producer after the origin that took over stored it', async () => {
    const conversation = randomUUID();
    const stream = streamId();
    expect(await store(conversation, 'Seven dumps.', stream, 2)).not.toBeNull();
    expect(await store(conversation, 'Seven', stream, 1)).toBeNull();
    expect(await messages(conversation)).toEqual({
      rows: [
        { role: 'user', content: 'How long are dumps kept?' },
        { role: 'assistant', content: 'Seven dumps.' },
      ],
      count: 2,
    });
  });

  it('replaces what the paused producer stored first with the answer the reader got', async () => {
    const conversation = randomUUID();
    const stream = streamId();
    // An earlier exchange of the conversation stays as it is.
    expect(await store(conversation, 'Nightly.', streamId(), 1)).not.toBeNull();
    expect(await store(conversation, '', stream, 1)).not.toBeNull();
    expect(await store(conversation, 'Seven dumps.', stream, 2)).not.toBeNull();
    expect(await store(conversation, 'Seven dumps.', stream, 2)).toBeNull();
    const { rows, count } = await messages(conversation);
    expect(rows.map((row) => row.content)).toEqual([
      'How long are dumps kept?',
      'Nightly.',
      'How long are dumps kept?',
      'Seven dumps.',
    ]);
    expect(count).toBe(4);
  });

  it('keeps one exchange when both store at the same moment', async () => {
    const conversation = randomUUID();
    const stream = streamId();
    const stored = await Promise.all([
      store(conversation, 'First.', stream, 1),
      store(conversation, 'Second.', stream, 2),
    ]);
    expect(stored.some((id) => id !== null)).toBe(true);
    const { rows, count } = await messages(conversation);
    expect(rows.map((row) => row.content)).toEqual(['How long are dumps kept?', 'Second.']);
    expect(count).toBe(2);
  });
});
