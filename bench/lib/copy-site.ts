import { vectorIndexDdl, vectorIndexName } from '../../origin/src/db/vector-index.js';
import type { Harness } from '../../origin/test/harness.js';

/** Documents copied per statement: each statement stays far within the statement timeout. */
const COPY_BATCH = 1_000;

/**
 * Fills a new site with about `wanted` chunks: the first `apiChunks` through the ingestion API
 * (documents of 100 abstracts each), the rest copies of those documents made in SQL (same
 * texts and vectors, new sources) through the same triggers, with the HNSW index dropped during
 * the copies and built once after them. The API path on 2 shared cores ingests ~50 chunks/s
 * under load: 200k that way takes over an hour.
 */
export async function loadSite(
  h: Harness,
  site: string,
  wanted: number,
  abstracts: string[],
  apiChunks: number,
) {
  await h.createSite(site);
  const pool = h.services.db.pool;
  const { rows } = await pool.query<{ id: number }>('select id from sites where name = $1', [site]);
  const siteId = rows[0]!.id;
  let chunks = 0;
  let doc = 0;
  const started = performance.now();
  while (chunks < Math.min(wanted, apiChunks)) {
    const documents = Array.from({ length: 100 }, () => {
      doc += 1;
      return {
        title: `Abstract ${doc}`,
        url: `https://bench.local/${doc}`,
        content: abstracts[doc % abstracts.length]!,
        format: 'text' as const,
      };
    });
    const response = await h.request('POST', `/api/v1/sites/${site}/documents`, {
      json: { documents },
    });
    if (response.status !== 201) throw new Error(`ingest failed: ${await response.text()}`);
    const counted = await pool.query<{ n: number }>(
      'select count(*) as n from chunks where site_id = $1',
      [siteId],
    );
    chunks = counted.rows[0]!.n;
  }
  const seeds = await pool.query<{ max: number; n: number; chunks: number }>(
    `select max(d.id)::float8 as max, count(*)::float8 as n, sum(d.chunk_count)::float8 as chunks
     from documents d where d.site_id = $1`,
    [siteId],
  );
  const seed = seeds.rows[0]!;
  // Copies go in without the HNSW index, which is built once after them: maintaining it row by
  // row on 2 shared cores made the 200k load take over an hour.
  if (chunks < wanted) await pool.query(`drop index if exists ${vectorIndexName(384)}`);
  for (let copy = 1; chunks < wanted; copy += 1) {
    // The seed documents copied in batches (each its own transaction and version).
    const offset = ((copy - 1) * COPY_BATCH) % seed.n;
    const docs = Math.min(
      COPY_BATCH,
      seed.n - offset,
      Math.ceil((seed.n * (wanted - chunks)) / seed.chunks) + 1,
    );
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query('update sites set content_version = content_version + 1 where id = $1', [
        siteId,
      ]);
      await client.query(
        `insert into documents (site_id, source, title, url, format, content_hash, chunk_count, byte_size)
         select site_id, source || '#' || $3::text, title, url || '#' || $3::text, format,
                content_hash, chunk_count, byte_size
         from documents where site_id = $1 and id <= $2 order by id limit $4 offset $5`,
        [siteId, seed.max, String(copy), docs, offset],
      );
      await client.query(
        `insert into chunks (document_id, site_id, position, heading_path, context, content, token_count, embedding)
         select nd.id, c.site_id, c.position, c.heading_path, c.context, c.content, c.token_count, c.embedding
         from documents nd
           join documents od on od.site_id = nd.site_id and od.source || '#' || $2::text = nd.source
           join chunks c on c.document_id = od.id
         where nd.site_id = $1 and nd.source like '%#' || $2::text`,
        [siteId, String(copy)],
      );
      await client.query('commit');
    } finally {
      client.release();
    }
    const counted = await pool.query<{ n: number }>(
      'select count(*) as n from chunks where site_id = $1',
      [siteId],
    );
    chunks = counted.rows[0]!.n;
    process.stderr.write(`${site}: ${chunks} chunks\n`);
  }
  const builder = await pool.connect();
  try {
    // The whole graph in memory: a build that spills is several times slower.
    await builder.query("set maintenance_work_mem = '1GB'");
    await builder.query(vectorIndexDdl(384));
    await builder.query('reset maintenance_work_mem');
  } finally {
    builder.release();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`${site}: ${chunks} chunks in ${seconds.toFixed(0)} s\n`);
  return { siteId, chunks, loadSeconds: Math.round(seconds * 100) / 100 };
}
