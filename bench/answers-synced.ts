/**
 * The answer-quality harness (`origin/src/eval/answers`) over the Hono QA set twice in one run:
 * once with `docs/` uploaded as files (as `npm run eval:answers` does), once with the same pages
 * rendered to an HTML site on loopback and synced from its sitemap through the web-sources API.
 * Same questions, same scoring; a synced page's citation is its URL, named back to its file.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:answers-synced [-- --db pglite]
 *
 * Writes bench/results/answers-hono-synced-<db>.json.
 */
import { parseArgs } from 'node:util';
import { createTestDatabase } from '../origin/test/harness.js';
import { loadQaSet } from '../origin/tools/eval/answers/questions.js';
import { type AnswerReport, runAnswerEvaluation } from '../origin/tools/eval/answers/run.js';
import { pageOfUrl, syncFrom } from '../test/synced-answers.js';
import { renderHonoSite, startWebServer } from '../test/web-site.js';
import { machineInfo } from './lib/machine.js';
import { runMain, writeResult } from './lib/result.js';

const { values } = parseArgs({ options: { db: { type: 'string', default: 'postgres' } } });
const db = values.db as 'postgres' | 'pglite';
const HONO = new URL('../../shared/data/qa/hono/', import.meta.url).pathname;

function figures(report: AnswerReport) {
  const { scores } = report;
  return {
    documents: report.documents,
    scores,
    byKind: report.byKind,
    ttftMs: report.ttftMs,
    citedPages: report.results.filter((r) => r.cited.length > 0).length,
  };
}

async function main() {
  const set = await loadQaSet(HONO);
  const web = await startWebServer(renderHonoSite());
  const database = db === 'postgres' ? await createTestDatabase('postgres') : null;
  try {
    const base = { databaseUrl: database?.url };
    const files = await runAnswerEvaluation(set, base);
    const synced = await runAnswerEvaluation(set, {
      ...base,
      settings: { CRAWL_ALLOW_HOSTS: '127.0.0.1' },
      ingest: syncFrom(`${web.origin}/sitemap.xml`),
      pageOf: pageOfUrl,
    });
    const disagreements = files.results
      .map((r, i) => ({ id: r.id, files: r.verdict, synced: synced.results[i]!.verdict }))
      .filter((row) => row.files !== row.synced);
    writeResult(`answers-hono-synced-${db}`, {
      benchmark: 'answers-synced',
      command: `npm run bench:answers-synced -- --db ${db}`,
      date: new Date().toISOString(),
      machine: machineInfo(),
      database: db,
      embedder: 'hash',
      filesIngested: figures(files),
      siteSynced: figures(synced),
      disagreements,
      syncedCitationsSample: synced.results.slice(0, 3).map((r) => ({ id: r.id, cited: r.cited })),
    });
  } finally {
    await web.close();
    await database?.drop();
  }
}

runMain(main);
