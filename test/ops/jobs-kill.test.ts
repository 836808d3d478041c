/**
 * Two real origin processes share one PostgreSQL. A large upload is queued as a job; the origin
 * running it is SIGKILLed halfway; the other origin takes the job up once the lease lapses and
 * finishes it. Throughout, a watcher reads the document with SQL: it is always the whole old
 * version or the whole new one, never a mix.
 */
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN_TOKEN, createTestDatabase, type TestDatabase } from '../../origin/test/harness.js';
import { ORIGIN_START_MS } from '../../origin/test/private-services.js';
import { type OriginProcess, run, startOrigin } from '../origin-process.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const DOC_URL = 'https://docs.test/manual';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A version of the manual: every paragraph carries the version's marker word. */
function manual(marker: string, paragraphs: number): string {
  return Array.from(
    { length: paragraphs },
    (_, p) =>
      `Paragraph ${p} of the ${marker} edition: valve ${p} is checked weekly and its pressure ${p * 3} is logged by the ${marker} crew before the pumps start again.`,
  ).join('\n\n');
}

interface JobView {
  id: number;
  status: string;
  attempts: number;
  claimedBy: string | null;
  progress: { phase?: string } | null;
  result: {
    results: Array<{ outcome: string; document: { id: number; chunkCount: number } }>;
  } | null;
  error: string | null;
}

interface DocState {
  chunkCount: number;
  actual: number;
  alpha: number;
  bravo: number;
}

const DOC_STATE = `select d.chunk_count as "chunkCount",
    (select count(*)::int from chunks c where c.document_id = d.id) as actual,
    (select count(*)::int from chunks c where c.document_id = d.id and c.content like '%alpha%') as alpha,
    (select count(*)::int from chunks c where c.document_id = d.id and c.content like '%bravo%') as bravo
  from documents d where d.url = '${DOC_URL}'`;

describe('a job whose origin is SIGKILLed halfway is finished by another origin (two origins, one PostgreSQL)', () => {
  let database: TestDatabase;
  const origins: OriginProcess[] = [];
  let watcher: pg.Client;
  const env = () => ({
    NODE_ENV: 'test',
    ...database.env,
    ADMIN_TOKEN,
    EMBEDDER: 'hash',
    RERANKER: 'none',
    CHUNK_MAX_TOKENS: '64',
    CHUNK_OVERLAP_TOKENS: '8',
    SYNC_SCHEDULER_MS: '0',
    INGEST_ASYNC_KB: '64',
    JOBS_LEASE_SECONDS: '3',
    JOBS_POLL_MS: '300',
  });
  const api = (o: OriginProcess, method: string, path: string, body?: unknown) =>
    fetch(`${o.url}${path}`, {
      method,
      headers: auth,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
  const getJob = async (o: OriginProcess, id: number): Promise<JobView> => {
    const response = await api(o, 'GET', `/api/v1/sites/docs/jobs/${id}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { job: JobView }).job;
  };
  /** Polls until `done(job)` (bounded). */
  const waitFor = async (o: OriginProcess, id: number, done: (job: JobView) => boolean) => {
    const until = performance.now() + 120_000;
    while (performance.now() < until) {
      const job = await getJob(o, id);
      if (done(job)) return job;
      await sleep(50);
    }
    throw new Error(`job ${id} never reached the awaited state`);
  };
  const pidOf = (claimedBy: string | null) => Number(claimedBy?.split(':')[1]);

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    // One at a time: the second finds the migrations done.
    origins.push(await startOrigin(env(), ORIGIN_START_MS));
    origins.push(await startOrigin(env(), ORIGIN_START_MS));
    watcher = new pg.Client({ connectionString: database.url });
    await watcher.connect();
  }, 300_000);
  afterAll(async () => {
    await watcher?.end();
    for (const o of origins) await o.stop('SIGKILL');
    await database?.drop();
  });

  it('stores the whole new version after the kill, never a mix, and shows the job in the API and CLI', async () => {
    const [a, b] = origins as [OriginProcess, OriginProcess];
    expect((await api(a, 'POST', '/api/v1/sites', { name: 'docs' })).status).toBe(201);
    const old = await api(a, 'POST', '/api/v1/sites/docs/documents', {
      title: 'Manual',
      url: DOC_URL,
      content: manual('alpha', 40),
    });
    expect(old.status).toBe(201);
    const oldChunks = ((await old.json()) as { document: { chunkCount: number } }).document
      .chunkCount;

    // Calibration: the new version under another address, to learn how long its storing takes.
    const NEW = manual('bravo', 4_000);
    const calibration = await api(a, 'POST', '/api/v1/sites/docs/documents', {
      title: 'Manual',
      url: 'https://docs.test/calibration',
      content: NEW,
    });
    expect(calibration.status).toBe(202);
    const calibrationId = ((await calibration.json()) as { job: JobView }).job.id;
    await waitFor(a, calibrationId, (job) => job.progress?.phase === 'storing');
    const storingFrom = performance.now();
    const calibrated = await waitFor(a, calibrationId, (job) => job.status !== 'running');
    const storingMs = performance.now() - storingFrom;
    expect(calibrated.status).toBe('succeeded');
    const newChunks = calibrated.result!.results[0]!.document.chunkCount;
    expect(newChunks).toBeGreaterThan(oldChunks * 10);
    // Killing halfway needs a storing phase long enough to land in.
    expect(storingMs).toBeGreaterThan(400);
    // Gone again, so that searches below can only find the manual itself.
    const calibrationDoc = calibrated.result!.results[0]!.document;
    expect(
      (await api(a, 'DELETE', `/api/v1/sites/docs/documents/${calibrationDoc.id}`)).status,
    ).toBe(204);

    // The watcher: every observation of the document must be one whole version.
    const seen: DocState[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const { rows } = await watcher.query<DocState>(DOC_STATE);
        seen.push(rows[0]!);
        await sleep(20);
      }
    })();
    // Stopped however the test ends, so that it never reads from a closed client.
    const stopWatching = async () => {
      watching = false;
      await watch;
    };
    onTestFinished(stopWatching);

    const queued = await api(a, 'POST', '/api/v1/sites/docs/documents', {
      title: 'Manual',
      url: DOC_URL,
      content: NEW,
    });
    expect(queued.status).toBe(202);
    const id = ((await queued.json()) as { job: JobView }).job.id;
    const running = await waitFor(a, id, (job) => job.progress?.phase === 'storing');
    const victim = origins.find((o) => o.child.pid === pidOf(running.claimedBy))!;
    expect(victim).toBeDefined();
    const survivor = victim === a ? b : a;
    // A quarter into the storing phase: well inside it, however the load on the machine varies.
    await sleep(storingMs / 4);
    const exited = once(victim.child, 'exit');
    victim.child.kill('SIGKILL');
    await exited;
    origins.splice(origins.indexOf(victim), 1);

    // Killed halfway: the job was still running and the document still wholly old.
    const atKill = await getJob(survivor, id);
    expect(atKill, JSON.stringify(atKill)).toMatchObject({ status: 'running', attempts: 1 });
    const { rows } = await watcher.query<DocState>(DOC_STATE);
    expect(rows[0]).toEqual({
      chunkCount: oldChunks,
      actual: oldChunks,
      alpha: oldChunks,
      bravo: 0,
    });

    const done = await waitFor(
      survivor,
      id,
      (job) => job.status !== 'running' && job.status !== 'queued',
    );
    await stopWatching();
    // The watcher's last read may have started before the job's commit: one more, after it.
    seen.push((await watcher.query<DocState>(DOC_STATE)).rows[0]!);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(pidOf(done.claimedBy)).toBe(survivor.child.pid);
    expect(done.result!.results[0]).toMatchObject({
      outcome: 'updated',
      document: { chunkCount: newChunks },
    });

    const whole = (state: DocState) =>
      (state.alpha === oldChunks &&
        state.bravo === 0 &&
        state.actual === oldChunks &&
        state.chunkCount === oldChunks) ||
      (state.bravo === newChunks &&
        state.alpha === 0 &&
        state.actual === newChunks &&
        state.chunkCount === newChunks);
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter((state) => !whole(state))).toEqual([]);
    expect(seen.at(-1)).toEqual({
      chunkCount: newChunks,
      actual: newChunks,
      alpha: 0,
      bravo: newChunks,
    });

    // The survivor answers from the new version.
    const search = await api(survivor, 'POST', '/api/v1/sites/docs/search', {
      query: 'bravo crew valve pressure',
    });
    expect(search.status).toBe(200);
    const hits = ((await search.json()) as { results: Array<{ url: string; content?: string }> })
      .results;
    expect(hits.some((hit) => hit.url === DOC_URL)).toBe(true);

    // The operator sees the story in the CLI: attempt 2 of 3, on the survivor.
    const cli = await run('origin/tools/cli/main.ts', ['jobs', 'docs'], {
      ADMIN_TOKEN,
      DATA_DIR: database.env.DATA_DIR!,
      PORT: new URL(survivor.url).port,
      HOST: '127.0.0.1',
    });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const line = cli.stdout.split('\n').find((l) => l.startsWith(`#${id} `));
    expect(line).toMatch(/ingest\s+succeeded\s+attempt 2\/3/);
    expect(line).toContain(`:${survivor.child.pid}:`);
  }, 300_000);
});
