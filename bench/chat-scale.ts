/**
 * Chat throughput against corpus size: one origin process (extractive answers, the `hash`
 * embedder, no reranker) over real HTTP on loopback, serving rounds of 100 concurrent chat
 * streams on the Cranfield site (1,400 abstracts) and on a site of about 50,000 chunks, rounds
 * alternating so that noise on the shared machine falls on both. Turns per second = completed
 * streams / wall time of the round. Every question is distinct (numbered), so every turn misses
 * the answer cache and retrieves. Then the same on the large site for several pool sizes, each
 * a fresh origin on the same database: what the default pool size rests on.
 * Target: turns/s on the large site ≥ 0.5× those on the small one.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:chat-scale -- --db postgres
 *
 * Writes bench/results/chat-scale-<db>.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { configureHttpServer } from '../origin/src/http-server.js';
import { createTestDatabase, type Harness, startHarness } from '../origin/test/harness.js';
import { loadCollection } from '../origin/tools/eval/collection.js';
import { parseSmart } from '../origin/tools/eval/smart.js';
import { ask, stats } from './lib/chat-client.js';
import { loadSite } from './lib/copy-site.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    chunks: { type: 'string', default: '50000' },
    streams: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    pool: { type: 'string', default: '10' },
    pools: { type: 'string', default: '2,4,10,20' },
    /**
     * How the large site is filled: `api` (every chunk through the ingestion API, ~20 min on 2
     * shared cores) or `copies` (5,000 chunks through the API, the rest copied in SQL as in
     * bench:search; the same texts, vectors and triggers, minutes instead).
     */
    load: { type: 'string', default: 'api' },
  },
});
const kind = values.db === 'pglite' ? 'pglite' : 'postgres';
const wanted = Number(values.chunks);
const streams = Number(values.streams);
const rounds = Number(values.rounds);
const DATA = new URL('../../shared/data/ir/', import.meta.url).pathname;

type Database = Awaited<ReturnType<typeof createTestDatabase>>;

async function origin(database: Database, pool: number) {
  const h = await startHarness({
    database,
    env: { EMBEDDER: 'hash', RERANKER: 'none', DB_POOL_MAX: String(pool) },
  });
  const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
  configureHttpServer(server as Server);
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    h,
    base,
    close: async () => {
      server.close();
      await h.close();
    },
  };
}

async function ingest(h: Harness, site: string, documents: object[]) {
  for (let i = 0; i < documents.length; i += 100) {
    const response = await h.request('POST', `/api/v1/sites/${site}/documents`, {
      json: { documents: documents.slice(i, i + 100) },
    });
    if (response.status !== 201) throw new Error(await response.text());
  }
}

async function main() {
  const collection = await loadCollection(`${DATA}cranfield/`);
  const abstracts = [
    ...parseSmart(readFileSync(`${DATA}cranfield/cran.all.1400`, 'utf8')),
    ...parseSmart(readFileSync(`${DATA}medline/MED.ALL`, 'utf8')),
  ]
    .map((r) => r.fields.W ?? '')
    .filter((t) => t.trim().length > 40);
  const database = await createTestDatabase(kind);
  let o: Awaited<ReturnType<typeof origin>> | null = await origin(database, Number(values.pool));
  const current = () => o!;
  try {
    await current().h.createSite('small');
    await ingest(
      o.h,
      'small',
      collection.documents.map((d) => ({
        title: d.title || d.id,
        content: d.text || d.title || d.id,
        format: 'text',
        url: `https://bench.local/${d.id}`,
      })),
    );
    const pool = current().h.services.db.pool;
    const loadStarted = performance.now();
    let chunks = 0;
    if (values.load === 'copies') {
      chunks = (await loadSite(current().h, 'large', wanted, abstracts, 5_000)).chunks;
    } else {
      await current().h.createSite('large');
      let doc = 0;
      while (chunks < wanted) {
        const documents = Array.from({ length: 500 }, () => {
          doc += 1;
          return {
            title: `Abstract ${doc}`,
            url: `https://bench.local/large/${doc}`,
            content: abstracts[doc % abstracts.length]!,
            format: 'text',
          };
        });
        await ingest(current().h, 'large', documents);
        const { rows } = await pool.query<{ n: number }>(
          "select count(*) as n from chunks c join sites s on s.id = c.site_id where s.name = 'large'",
        );
        chunks = rows[0]!.n;
      }
    }
    const { rows: small } = await pool.query<{ n: number }>(
      "select count(*) as n from chunks c join sites s on s.id = c.site_id where s.name = 'small'",
    );
    const loadSeconds = Math.round((performance.now() - loadStarted) / 1000);
    process.stderr.write(`large: ${chunks} chunks in ${loadSeconds} s\n`);
    await pool.query('analyze');

    let next = 0;
    const question = () => {
      const q = collection.queries[next % collection.queries.length]!.text;
      next += 1;
      return `${q} (${next})`;
    };
    const round = async (base: string, site: string) => {
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: streams }, () => ask(base, question(), { site })),
      );
      const seconds = (performance.now() - started) / 1000;
      const completed = results.filter((r) => r.completed).length;
      return {
        turnsPerSecond: round2(completed / seconds),
        completed,
        seconds: round2(seconds),
        outcomes: stats(results).outcomes,
      };
    };
    // One postings load runs at a time: each site's first question starts its load, and the
    // rounds start only once both are held (an origin without them ranks in SQL).
    const warm = async (base: string, h: Harness) => {
      for (const site of ['small', 'large']) {
        await ask(base, question(), { site });
        await h.services.search.lexicalIndexes?.settled();
      }
      for (const site of ['small', 'large']) await ask(base, question(), { site });
    };
    await warm(current().base, o.h);
    const bySite: Record<string, Array<Awaited<ReturnType<typeof round>>>> = {
      small: [],
      large: [],
    };
    for (let r = 0; r < rounds; r += 1) {
      const order = r % 2 === 0 ? ['small', 'large'] : ['large', 'small'];
      for (const site of order) {
        bySite[site]!.push(await round(current().base, site));
        process.stderr.write(`${site}: ${JSON.stringify(bySite[site]!.at(-1))}\n`);
      }
    }
    const median = (list: Array<{ turnsPerSecond: number }>) =>
      [...list.map((x) => x.turnsPerSecond)].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
    const smallTps = median(bySite.small!);
    const largeTps = median(bySite.large!);
    await current().close();

    // Pool sizes side by side: one origin per size over the same database, all up at once,
    // their rounds interleaved (the order rotating) so that the machine's load falls on each.
    const sizes = values.pools!.split(',').map(Number);
    const origins = [];
    for (const size of sizes) {
      const each = await origin(database, size);
      await warm(each.base, each.h);
      origins.push(each);
    }
    const poolRuns = sizes.map(() => [] as Array<Awaited<ReturnType<typeof round>>>);
    try {
      for (let r = 0; r < rounds; r += 1) {
        for (let i = 0; i < sizes.length; i += 1) {
          const at = (i + r) % sizes.length;
          poolRuns[at]!.push(await round(origins[at]!.base, 'large'));
          process.stderr.write(`pool ${sizes[at]}: ${JSON.stringify(poolRuns[at]!.at(-1))}\n`);
        }
      }
    } finally {
      for (const each of origins) await each.close();
    }
    const pools: Record<string, unknown> = {};
    sizes.forEach((size, i) => {
      pools[String(size)] = { turnsPerSecond: median(poolRuns[i]!), runs: poolRuns[i] };
    });
    o = null;

    const result = {
      name: `chat-scale-${kind}`,
      command: `npm run bench:chat-scale -- --db ${kind} --chunks ${wanted} --streams ${streams} --rounds ${rounds} --pool ${values.pool} --pools ${values.pools} --load ${values.load}`,
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      setup: `one origin process, extractive answers, hash embedder, no reranker, DB pool ${values.pool}, ${streams} concurrent chat streams per round, real HTTP on loopback; small = Cranfield (${small[0]!.n} chunks), large = ${chunks} chunks of Cranfield and MEDLINE abstracts (loaded in ${loadSeconds} s)`,
      smallChunks: small[0]!.n,
      largeChunks: chunks,
      turnsPerSecond: { small: smallTps, large: largeTps },
      largeOverSmall: round2(largeTps / smallTps),
      rounds: bySite,
      poolSizesOnLarge: pools,
      target: 'largeOverSmall >= 0.5',
    };
    writeFileSync(
      new URL(`results/chat-scale-${kind}.json`, import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await o?.close();
    await database.drop();
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
