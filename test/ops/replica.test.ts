/**
 * Reads from a real streaming replica (pg_basebackup of the test primary, started on demand by
 * scripts/services.sh). With replay paused, a site whose content changed since is read from the
 * primary, so answers reflect the change; a site that did not change is read from the replica.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  type Harness,
  startHarness,
  type TestDatabase,
} from '../../origin/test/harness.js';
import { answerText, readSse } from '../../origin/test/sse.js';
import { ROOT, runCommand } from './helpers.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The replica's URL: from the environment, or started now with scripts/services.sh. */
async function replicaBaseUrl(): Promise<string> {
  if (process.env.TEST_REPLICA_URL !== undefined) return process.env.TEST_REPLICA_URL;
  const started = await runCommand('bash', ['scripts/services.sh', 'replica'], {
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>) },
    timeoutMs: 120_000,
  });
  expect(started.code, started.stderr).toBe(0);
  const env = await runCommand('bash', ['scripts/services.sh', 'env'], {
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>) },
  });
  const url = /TEST_REPLICA_URL=(\S+)/.exec(env.stdout)?.[1];
  if (url === undefined) throw new Error(`no replica URL in:\n${env.stdout}`);
  return url;
}

describe('reads from a streaming replica, with a content-version check (real pg_basebackup replica)', () => {
  let database: TestDatabase;
  let h: Harness;
  let primary: pg.Client;
  let replica: pg.Client;

  const versions = async (client: pg.Client) =>
    (
      await client.query<{ name: string; v: number }>(
        'select name, content_version::float8 as v from sites order by name',
      )
    ).rows;
  /** Waits (bounded) until the replica has replayed everything the primary has committed. */
  const caughtUp = async () => {
    const until = performance.now() + 30_000;
    const want = JSON.stringify(await versions(primary));
    while (performance.now() < until) {
      if (JSON.stringify(await versions(replica)) === want) return;
      await sleep(50);
    }
    throw new Error('the replica did not catch up in 30 s');
  };
  const search = async (site: string, query: string) => {
    const response = await h.request('POST', `/api/v1/sites/${site}/search`, { json: { query } });
    expect(response.status).toBe(200);
    return (await response.json()).results as Array<{ title: string; text: string }>;
  };

  beforeAll(async () => {
    const replicaBase = new URL(await replicaBaseUrl());
    database = await createTestDatabase('postgres');
    const replicaUrl = new URL(database.url!);
    replicaUrl.port = replicaBase.port;
    primary = new pg.Client({ connectionString: database.url });
    await primary.connect();
    // The new database reaches the replica through the WAL like everything else.
    const until = performance.now() + 30_000;
    for (;;) {
      replica = new pg.Client({ connectionString: replicaUrl.toString() });
      replica.on('error', () => {});
      try {
        await replica.connect();
        break;
      } catch (error) {
        if (performance.now() > until) throw error;
        await sleep(100);
      }
    }
    h = await startHarness({
      database: {
        ...database,
        env: { ...database.env, DATABASE_READ_URL: replicaUrl.toString() },
      },
      env: { CHUNK_MAX_TOKENS: '64', CHUNK_OVERLAP_TOKENS: '8' },
    });
    await h.createSite('docs');
    await h.createSite('other');
    const ingest = async (site: string, title: string, content: string) => {
      const response = await h.request('POST', `/api/v1/sites/${site}/documents`, {
        json: { title, url: `https://${site}.test/${title.toLowerCase()}`, content },
      });
      expect(response.status).toBeLessThan(300);
    };
    await ingest(
      'docs',
      'Gateway',
      '# Gateway\n\nThe gateway listens on port 7100 for incoming traffic.\n\nRestart the gateway after changing its port.',
    );
    await ingest(
      'docs',
      'Backups',
      '# Backups\n\nBackups run nightly and are kept for fourteen days in the vault.',
    );
    await ingest(
      'other',
      'Lighthouse',
      '# Lighthouse\n\nThe lighthouse keeper lights the lamp at dusk every evening.',
    );
    await caughtUp();
  }, 180_000);
  afterAll(async () => {
    // Never leave the shared replica paused for the suites after this one.
    await replica?.query('select pg_wal_replay_resume()').catch(() => {});
    await replica?.end().catch(() => {});
    await primary?.end().catch(() => {});
    await h?.close();
    await database?.drop();
  });

  it('serves a caught-up site from the replica and a changed one from the primary while replay is paused', async () => {
    await replica.query('select pg_wal_replay_pause()');
    const until = performance.now() + 10_000;
    while (
      (await replica.query('select pg_get_wal_replay_pause_state() as s')).rows[0].s !== 'paused'
    ) {
      if (performance.now() > until) throw new Error('replay did not pause');
      await sleep(50);
    }

    // A change the primary holds but the replica has not replayed, made without a content
    // version bump: only a read from the replica still finds "dusk".
    await primary.query(
      `update chunks set content = replace(content, 'dusk', 'noon')
        where site_id = (select id from sites where name = 'other')`,
    );
    const fromReplica = await search('other', 'lighthouse keeper lamp');
    expect(fromReplica[0]!.title).toBe('Lighthouse');
    expect(fromReplica[0]!.text).toContain('dusk');

    // A real change of the docs site: the API bumps its content version on the primary.
    const changed = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: {
        title: 'Gateway',
        url: 'https://docs.test/gateway',
        content:
          '# Gateway\n\nThe gateway listens on port 7200 for incoming traffic.\n\nRestart the gateway after changing its port.',
      },
    });
    expect(changed.status).toBe(200);
    // The replica still has the old version...
    const stale = await replica.query<{ content: string }>(
      `select c.content from chunks c join documents d on d.id = c.document_id
        where d.url = 'https://docs.test/gateway'`,
    );
    expect(stale.rows.map((row) => row.content).join(' ')).toContain('7100');
    // ...and yet search and chat answer from the new one.
    const hits = await search('docs', 'which port does the gateway listen on');
    expect(hits[0]!.title).toBe('Gateway');
    expect(hits[0]!.text).toContain('7200');
    expect(hits.map((hit) => hit.text).join(' ')).not.toContain('7100');
    const chat = await h.request('POST', '/api/v1/sites/docs/chat', {
      json: { message: 'Which port does the gateway listen on?' },
    });
    expect(chat.status).toBe(200);
    const answer = answerText(await readSse(chat.body!));
    expect(answer).toContain('7200');
    expect(answer).not.toContain('7100');

    // Replay resumes: the replica catches up and serves the new text of both sites.
    await replica.query('select pg_wal_replay_resume()');
    await caughtUp();
    const after = await search('other', 'lighthouse keeper lamp');
    expect(after[0]!.text).toContain('noon');
  });
});
