/**
 * What the operator's pages cost on a busy site: the insights report and the questions log over
 * 30 days of answers (default 20,000 exchanges, 5% voted, 10% unanswered), with question
 * embeddings drawn around 50 known topics, so that the grouping can be scored as well as timed.
 *
 *   eval "$(bash scripts/services.sh env)" && npx tsx bench/insights.ts --db postgres
 *
 * Writes bench/results/insights-<db>.json.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { vectorLiteral } from '../origin/src/store/chunks.js';
import { createTestDatabase, startHarness } from '../origin/test/harness.js';
import { machineInfo } from './lib/machine.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    exchanges: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '5' },
  },
});
const kind = values.db === 'pglite' ? 'pglite' : 'postgres';
const exchanges = Number(values.exchanges);
const runs = Number(values.runs);
const TOPICS = 50;
const DIM = 384;

/** A deterministic generator, so that every run seeds the same data. */
function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
const random = prng(16);
const gaussian = () =>
  Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
const unit = (v: Float32Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const centers = Array.from({ length: TOPICS }, () =>
  unit(Float32Array.from({ length: DIM }, gaussian)),
);
/** A question of `topic`: its center plus noise, about 0.9 cosine from it. */
const question = (topic: number) => unit(centers[topic]!.map((x) => x + gaussian() * 0.025));

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
}

const database = await createTestDatabase(kind);
const h = await startHarness({ database, env: { INSIGHTS_GROUP_SIMILARITY: '0.8' } });
try {
  await h.request('POST', '/api/v1/sites', { json: { name: 'busy' } });
  const documents = Array.from({ length: 60 }, (_, i) => ({
    title: `Page ${i}`,
    content: `# Page ${i}\n\nThis page is about topic number ${i} and nothing else.`,
  }));
  await h.request('POST', '/api/v1/sites/busy/documents', { json: { documents } });
  const pool = h.services.db.pool;
  const siteId = (await pool.query<{ id: number }>(`select id from sites where name = 'busy'`))
    .rows[0]!.id;
  const seedStarted = performance.now();
  const now = Date.now();
  const truth = new Map<string, number>();
  for (let start = 0; start < exchanges; start += 1000) {
    const count = Math.min(1000, exchanges - start);
    const conversations = await pool.query<{ id: string }>(
      'insert into conversations (site_id, message_count) select $1, 2 from generate_series(1, $2) returning id',
      [siteId, count],
    );
    const rows = conversations.rows.map((c, i) => {
      const topic = Math.floor(random() ** 2 * TOPICS);
      const roll = random();
      return {
        conversation: c.id,
        topic,
        text: `How does topic ${topic} work, case ${start + i}?`,
        embedding: vectorLiteral(question(topic)),
        at: new Date(now - random() * 30 * 86_400_000).toISOString(),
        outcome: roll < 0.1 ? 'no_answer' : roll < 0.13 ? 'partial' : 'answered',
        ttft: Math.round(80 + random() * 900),
        cited: topic % 60,
      };
    });
    const users = await pool.query<{ id: string }>(
      `insert into messages (conversation_id, role, content, question_embedding, created_at)
       select c, 'user', t, e::vector, a::timestamptz
         from unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) as x (c, t, e, a)
       returning id`,
      [
        rows.map((r) => r.conversation),
        rows.map((r) => r.text),
        rows.map((r) => r.embedding),
        rows.map((r) => r.at),
      ],
    );
    for (const [i, u] of users.rows.entries()) truth.set(String(u.id), rows[i]!.topic);
    const answers = await pool.query<{ id: string }>(
      `insert into messages (conversation_id, role, content, sources, cited, status, outcome, ttft_ms, created_at)
       select c, 'assistant', 'An answer.', jsonb_build_array(jsonb_build_object('n', 1, 'title', 'Page ' || d)),
              case when o = 'no_answer' then '{}'::int[] else '{1}'::int[] end,
              case when o = 'partial' then 'partial' else 'complete' end, o, t, a::timestamptz + interval '1 second'
         from unnest($1::uuid[], $2::text[], $3::int[], $4::int[], $5::text[]) as x (c, o, t, d, a)
       returning id`,
      [
        rows.map((r) => r.conversation),
        rows.map((r) => r.outcome),
        rows.map((r) => r.ttft),
        rows.map((r) => r.cited),
        rows.map((r) => r.at),
      ],
    );
    const voted = answers.rows.filter(() => random() < 0.05).map((a) => String(a.id));
    await pool.query(
      `insert into feedback (message_id, rating) select id, case when random() < 0.5 then 'down' else 'up' end
         from unnest($1::bigint[]) as id`,
      [voted],
    );
  }
  const seedSeconds = Math.round((performance.now() - seedStarted) / 100) / 10;
  // What autovacuum does soon after such a burst: without statistics the planner takes a few
  // thousand fresh rows for a handful and joins them in nested loops.
  await pool.query('analyze conversations, messages, feedback');

  const timings: number[] = [];
  let report: {
    topQuestions: Array<{ count: number }>;
    coverageGaps: unknown[];
    questionsGrouped: number;
  } | null = null;
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    const response = await h.request('GET', '/api/v1/sites/busy/insights?days=30');
    timings.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`insights: ${response.status}`);
    report = (await response.json()).insights;
  }
  const logTimings: Record<string, number[]> = { all: [], unanswered: [], downvoted: [] };
  for (let i = 0; i < runs; i += 1) {
    for (const filter of Object.keys(logTimings)) {
      const started = performance.now();
      const response = await h.request(
        'GET',
        `/api/v1/sites/busy/questions?filter=${filter}&limit=50`,
      );
      logTimings[filter]!.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`questions: ${response.status}`);
    }
  }
  // Purity of the grouping over the questions it read: the share of each group that is its
  // majority topic, weighted by group size (1.0: no group mixes topics).
  const { clusterByMeaning } = await import('../origin/src/insights/cluster.js');
  const { rows: sample } = await pool.query<{ id: string; embedding: number[] }>(
    `select m.id, m.question_embedding as embedding from messages m where m.role = 'user'
       order by m.id desc limit 2000`,
  );
  const clusters = clusterByMeaning(
    sample.map((row) => ({ item: truth.get(String(row.id))!, vector: row.embedding })),
    { threshold: 0.8, maxClusters: 200 },
  );
  const majority = clusters.reduce((sum, cluster) => {
    const counts = new Map<number, number>();
    for (const topic of cluster.members) counts.set(topic, (counts.get(topic) ?? 0) + 1);
    return sum + Math.max(...counts.values());
  }, 0);
  const topicsSeen = new Set(sample.map((row) => truth.get(String(row.id)))).size;
  const result = {
    name: `insights-${kind}`,
    command: `npx tsx bench/insights.ts --db ${kind} --exchanges ${exchanges} --runs ${runs}`,
    measuredAt: new Date().toISOString(),
    machine: machineInfo(),
    exchanges,
    seedSeconds,
    insightsMedianMs: median(timings),
    insightsMs: timings.map((t) => Math.round(t)),
    questionsLogMedianMs: Object.fromEntries(
      Object.entries(logTimings).map(([filter, samples]) => [filter, median(samples)]),
    ),
    grouping: {
      questionsGrouped: report?.questionsGrouped,
      groups: clusters.length,
      topicsInSample: topicsSeen,
      purity: Math.round((majority / sample.length) * 1000) / 1000,
      largestGroup: report?.topQuestions[0]?.count,
      coverageGaps: report?.coverageGaps.length,
    },
  };
  console.log(JSON.stringify(result, null, 2));
  writeFileSync(`bench/results/insights-${kind}.json`, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await h.close();
  await database.drop();
}
