import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETAINED_TABLES } from '../src/store/retention.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';
import { readSse } from './sse.js';

describe(`readers' conversations are kept only as long as the policy says (${TEST_DB})`, () => {
  let h: Harness;
  let key: string;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        RETENTION_DAYS: '30',
        MAX_CONVERSATIONS_PER_SITE: '3',
        RATE_LIMIT_CHAT_PER_MINUTE: '2',
      },
    });
    const created = await h.request('POST', '/api/v1/sites', { json: { name: 'docs' } });
    key = (await created.json()).site.publicKey;
    const docs = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { title: 'Backups', content: '# Backups\n\nThe nightly job keeps seven dumps.' },
    });
    expect(docs.status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  const rows = async () => {
    const { rows } = await h.services.db.pool.query<{ c: number; m: number }>(
      'select (select count(*)::int from conversations) as c, (select count(*)::int from messages) as m',
    );
    return rows[0]!;
  };
  const ask = async (message: string, conversationId?: string) => {
    const response = await h.request('POST', '/api/v1/sites/docs/chat', {
      json: conversationId === undefined ? { message } : { message, conversationId },
    });
    expect(response.status).toBe(200);
    const items = await readSse(response.body!);
    expect(items.at(-1)!.event).toBe('done');
    return (items.find((i) => i.event === 'meta')!.data as { conversationId: string })
      .conversationId;
  };

  it('creates a conversation row only when an exchange is stored, never for a refused question', async () => {
    const reader = { 'x-site-key': key };
    for (let i = 0; i < 4; i++) {
      const response = await h.request('POST', '/api/v1/sites/docs/chat', {
        json: { message: `How many dumps? ${i}` },
        token: null,
        headers: reader,
      });
      // Two answered, then the reader's budget (2 a minute) refuses the rest.
      expect(response.status).toBe(i < 2 ? 200 : 429);
      if (response.status === 200) await readSse(response.body!);
      else await response.body?.cancel();
    }
    expect(await rows()).toEqual({ c: 2, m: 4 });
  });

  it('deletes conversations and messages past RETENTION_DAYS and keeps the recent ones', async () => {
    const old = await ask('How many dumps are kept?');
    const recent = await ask('How many dumps are kept, really?');
    await h.services.db.pool.query(
      `update conversations set updated_at = now() - interval '31 days', created_at = now() - interval '40 days' where id = $1`,
      [old],
    );
    await h.services.db.pool.query(
      `update messages set created_at = now() - interval '31 days' where conversation_id = $1`,
      [old],
    );
    const deleted = await h.services.retention.run();
    expect(deleted.messages).toBe(2);
    expect(deleted.conversations).toBe(1);
    const { rows: left } = await h.services.db.pool.query<{ id: string }>(
      'select id from conversations where id = any($1::uuid[])',
      [[old, recent]],
    );
    expect(left.map((r) => r.id)).toEqual([recent]);
    // A follow-up in a deleted conversation is a clear 404, not a resurrection.
    const follow = await h.request('POST', '/api/v1/sites/docs/chat', {
      json: { message: 'and then?', conversationId: old },
    });
    expect(follow.status).toBe(404);
  });

  it("keeps each site's newest conversations up to the cap", async () => {
    for (let i = 0; i < 4; i++) await ask(`Question number ${i} about dumps`);
    expect((await rows()).c).toBeGreaterThan(3);
    const deleted = await h.services.retention.run();
    expect(deleted.cap).toBeGreaterThan(0);
    expect((await rows()).c).toBe(3);
    const { rows: orphans } = await h.services.db.pool.query<{ n: number }>(
      'select count(*)::int as n from messages m where not exists (select 1 from conversations c where c.id = m.conversation_id)',
    );
    expect(orphans[0]!.n).toBe(0);
  });

  it('lists the tables it prunes with their timestamp columns, each of which exists', async () => {
    for (const { table, column } of RETAINED_TABLES) {
      const { rows: found } = await h.services.db.pool.query(
        'select 1 from information_schema.columns where table_name = $1 and column_name = $2',
        [table, column],
      );
      expect(found, `${table}.${column}`).toHaveLength(1);
    }
  });
});
