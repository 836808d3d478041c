import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlPage, type SitePage, setSitemap, startWebServer } from '../../test/web-site.js';
import { withTransaction } from '../src/db/transaction.js';
import { claimJob, endJob, failAbandonedJobs } from '../src/store/jobs.js';
import { GUIDE_MD } from './fixtures.js';
import { type Harness, startHarness } from './harness.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A document of about `kb` KiB whose every paragraph names `marker`. */
function bigDocument(marker: string, kb: number): string {
  const paragraph = (p: number) =>
    `Paragraph ${p} of the ${marker} handbook: the ${marker} valve ${p} opens at pressure ${p * 7} and closes again after the pumps settle.`;
  const parts: string[] = [];
  let size = 0;
  for (let p = 0; size < kb * 1024; p++) {
    parts.push(paragraph(p));
    size += parts.at(-1)!.length + 2;
  }
  return parts.join('\n\n');
}

describe(`durable jobs: large uploads, reindex and sync queued, run by a worker (${process.env.TEST_DB ?? 'pglite'})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        CHUNK_MAX_TOKENS: '64',
        CHUNK_OVERLAP_TOKENS: '8',
        INGEST_ASYNC_KB: '16',
        JOBS_POLL_MS: '200',
        JOBS_LEASE_SECONDS: '3',
        JOBS_MAX_ATTEMPTS: '2',
        CRAWL_ALLOW_HOSTS: '127.0.0.1',
      },
    });
    await h.createSite('docs');
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Follows a job through the API until it has finished (bounded). */
  async function finished(location: string, timeoutMs = 60_000) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const response = await h.request('GET', location);
      expect(response.status).toBe(200);
      const { job } = await response.json();
      if (job.status === 'succeeded' || job.status === 'failed') return job;
      await sleep(100);
    }
    throw new Error(`job ${location} did not finish in ${timeoutMs} ms`);
  }

  it('answers a large upload with 202 and a job that any worker runs to the stored document', async () => {
    const content = bigDocument('oxbow', 40);
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { title: 'Oxbow handbook', url: 'https://docs.test/oxbow', content },
    });
    expect(response.status).toBe(202);
    const { job } = await response.json();
    expect(job).toMatchObject({ kind: 'ingest', status: 'queued', attempts: 0, maxAttempts: 2 });
    const location = response.headers.get('location')!;
    expect(location).toBe(`/api/v1/sites/docs/jobs/${job.id}`);
    const done = await finished(location);
    expect(done.status).toBe('succeeded');
    expect(done.attempts).toBe(1);
    expect(done.result.results).toEqual([
      {
        outcome: 'created',
        document: expect.objectContaining({
          title: 'Oxbow handbook',
          source: 'https://docs.test/oxbow',
        }),
      },
    ]);
    const chunkCount = done.result.results[0].document.chunkCount;
    expect(chunkCount).toBeGreaterThan(20);
    const { rows } = await h.services.db.pool.query<{ n: number }>(
      `select count(*)::int as n from chunks c join documents d on d.id = c.document_id
        where d.url = 'https://docs.test/oxbow' and c.content like '%oxbow%'`,
    );
    expect(rows[0]!.n).toBe(chunkCount);
    // The queued bytes are gone once the job has finished.
    const inputs = await h.services.db.pool.query('select 1 from job_inputs where job_id = $1', [
      job.id,
    ]);
    expect(inputs.rows).toHaveLength(0);
    const search = await h.request('POST', '/api/v1/sites/docs/search', {
      json: { query: 'oxbow valve pressure' },
    });
    expect(search.status).toBe(200);
    expect((await search.json()).results[0].title).toBe('Oxbow handbook');
  });

  it('keeps a small upload synchronous', async () => {
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      json: { title: 'Guide', content: GUIDE_MD },
    });
    expect(response.status).toBe(201);
    expect((await response.json()).document.chunkCount).toBeGreaterThan(0);
  });

  it('queues a small multipart upload when the client prefers respond-async', async () => {
    const form = new FormData();
    form.append(
      'file',
      new Blob(['# Kestrel\n\nKestrels hover over the meadow at dawn.']),
      'kestrel.md',
    );
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      body: form,
      headers: { prefer: 'respond-async' },
    });
    expect(response.status).toBe(202);
    const done = await finished(response.headers.get('location')!);
    expect(done.status).toBe('succeeded');
    expect(done.result.results[0]).toMatchObject({
      outcome: 'created',
      document: { source: 'kestrel.md' },
    });
  });

  it('fails a job whose file is bad at once (no retry), storing nothing', async () => {
    const before = await h.counts();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array([0x25, 0x50, 0x44, 0x46, 0, 1, 2])]), 'bad.pdf');
    const response = await h.request('POST', '/api/v1/sites/docs/documents', {
      body: form,
      headers: { prefer: 'respond-async' },
    });
    expect(response.status).toBe(202);
    const done = await finished(response.headers.get('location')!);
    expect(done).toMatchObject({ status: 'failed', attempts: 1 });
    expect(done.error).toMatch(/bad\.pdf/);
    expect(done.error).not.toMatch(/\n\s+at /);
    expect(await h.counts()).toEqual(before);
  });

  it('reindexes and syncs as jobs when asked to respond async', async () => {
    const reindex = await h.request('POST', '/api/v1/sites/docs/reindex', {
      headers: { prefer: 'respond-async' },
    });
    expect(reindex.status).toBe(202);
    const done = await finished(reindex.headers.get('location')!);
    expect(done.status).toBe('succeeded');
    expect(done.result.reindexed.chunks).toBe((await h.counts()).chunks);
    // Without web sources there is nothing to sync: refused before anything is queued.
    const sync = await h.request('POST', '/api/v1/sites/docs/sync', {
      headers: { prefer: 'respond-async' },
    });
    expect(sync.status).toBe(404);
  });

  it('runs a web sync as a job: the pages of the sitemap are stored by the worker', async () => {
    const pages = new Map<string, SitePage>([
      [
        '/docs/heron',
        {
          type: 'text/html',
          body: htmlPage('Heron', '<p>Herons wade in the shallow reeds.</p>', []),
        },
      ],
      [
        '/docs/otter',
        {
          type: 'text/html',
          body: htmlPage('Otter', '<p>Otters slide down the muddy bank.</p>', []),
        },
      ],
    ]);
    setSitemap(pages);
    const web = await startWebServer(pages);
    try {
      await h.createSite('web');
      const source = await h.request('POST', '/api/v1/sites/web/sources', {
        json: { sitemap: `${web.origin}/sitemap.xml` },
      });
      expect(source.status).toBe(201);
      const sync = await h.request('POST', '/api/v1/sites/web/sync', {
        headers: { prefer: 'respond-async' },
      });
      expect(sync.status).toBe(202);
      const done = await finished(sync.headers.get('location')!);
      expect(done.status).toBe('succeeded');
      expect(done.result.runs).toHaveLength(1);
      expect(done.result.runs[0].stats).toMatchObject({ added: 2, failed: 0 });
      const hits = await h.request('POST', '/api/v1/sites/web/search', {
        json: { query: 'otters muddy bank' },
      });
      expect((await hits.json()).results[0].title).toBe('Otter');
    } finally {
      await web.close();
    }
  });

  it('takes up a job whose origin died (its lease lapsed), and fails one that used every attempt', async () => {
    const pool = h.services.db.pool;
    // Another "origin" claimed two jobs and died: it never renews nor ends them.
    const site = (await pool.query<{ id: number }>("select id from sites where name = 'docs'"))
      .rows[0]!.id;
    const queued = await pool.query<{ id: number }>(
      `insert into jobs (site_id, kind, max_attempts, status, attempts, claim_token, claimed_by, lease_until)
       values ($1, 'reindex', 2, 'running', 1, 'dead', 'dead-origin', now() - interval '1 second'),
              ($1, 'reindex', 2, 'running', 2, 'dead', 'dead-origin', now() - interval '1 second')
       returning id`,
      [site],
    );
    const [retried, exhausted] = queued.rows.map((row) => row.id) as [number, number];
    // Queued behind this origin's back: on PGlite its worker polls only now and then.
    h.services.jobs.notify();
    const first = await finished(`/api/v1/sites/docs/jobs/${retried}`);
    expect(first).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(first.claimedBy).not.toBe('dead-origin');
    const second = await finished(`/api/v1/sites/docs/jobs/${exhausted}`);
    expect(second).toMatchObject({ status: 'failed', attempts: 2 });
    expect(second.error).toMatch(/lease lapsed/);
    expect(await failAbandonedJobs(pool)).toBe(0);
  });

  it('lets only the claim holder end a job: a lapsed holder cannot overwrite the new outcome', async () => {
    const pool = h.services.db.pool;
    const site = (await pool.query<{ id: number }>("select id from sites where name = 'docs'"))
      .rows[0]!.id;
    // Held by "a" with a live lease, so that the origin's own worker leaves it alone.
    const { rows } = await pool.query<{ id: number }>(
      `insert into jobs (site_id, kind, max_attempts, status, attempts, claim_token, claimed_by, lease_until)
       values ($1, 'reindex', 3, 'running', 1, 'a', 'test-a', now() + interval '1 hour') returning id`,
      [site],
    );
    const id = rows[0]!.id;
    // "a" stalls past its lease and "b" claims the job, in one transaction: the worker cannot slip in.
    const claimed = await withTransaction(pool, async (client) => {
      await client.query(
        "update jobs set lease_until = now() - interval '1 second' where id = $1",
        [id],
      );
      return claimJob(client, { token: 'b', workerId: 'test-b', leaseSeconds: 60 });
    });
    expect(claimed?.id).toBe(id);
    expect(await endJob(pool, id, 'a', { status: 'failed', error: 'late' })).toBe(false);
    expect(await endJob(pool, id, 'b', { status: 'succeeded', result: { ok: true } })).toBe(true);
    const { job } = await (await h.request('GET', `/api/v1/sites/docs/jobs/${id}`)).json();
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2, result: { ok: true } });
  });

  it('lists a site’s jobs newest first, filtered by status, and refuses bad input with 4xx', async () => {
    const all = await (await h.request('GET', '/api/v1/sites/docs/jobs?limit=2')).json();
    expect(all.jobs).toHaveLength(2);
    expect(all.jobs[0].id).toBeGreaterThan(all.jobs[1].id);
    expect(all.nextBefore).toBe(all.jobs[1].id);
    const failed = await (await h.request('GET', '/api/v1/sites/docs/jobs?status=failed')).json();
    expect(failed.jobs.length).toBeGreaterThanOrEqual(2);
    expect(failed.jobs.every((job: { status: string }) => job.status === 'failed')).toBe(true);
    const bad = await h.request('GET', '/api/v1/sites/docs/jobs?status=exploded');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('validation_failed');
    const missing = await h.request('GET', '/api/v1/sites/docs/jobs/999999');
    expect(missing.status).toBe(404);
    expect((await h.request('GET', '/api/v1/sites/docs/jobs', { token: null })).status).toBe(401);
  });
});
