/**
 * Retrieval over a synced website next to the same documents ingested as files, in one run:
 * the Hono docs once uploaded as Markdown files and once synced from their rendered HTML site
 * (sitemap on loopback). For each answerable question of `shared/data/qa/hono/questions.jsonl`,
 * hit@5 and MRR@5 of the page the question was written from, and whether an expected answer
 * string appears in the top 5 chunks. This is a retrieval check, not the answer-quality harness
 * (`npm run eval:answers`, issue 12), which was not on main when this was written.
 *
 *   eval "$(bash scripts/services.sh env)" && npm run bench:sync-quality [-- --db postgres]
 *
 * Writes bench/results/sync-quality.json.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase, type Harness, startHarness } from '../origin/test/harness.js';
import { HONO_DOCS, renderHonoSite, startWebServer } from '../test/web-site.js';
import { machineInfo } from './lib/machine.js';
import { runMain, writeResult } from './lib/result.js';

const { values } = parseArgs({ options: { db: { type: 'string', default: 'postgres' } } });
const db = values.db as 'postgres' | 'pglite';
const K = 5;

interface Question {
  id: string;
  kind: string;
  question: string;
  answers?: string[][];
  sources?: string[];
}

function markdownFiles(): string[] {
  const pages = renderHonoSite();
  return [...pages.keys()]
    .filter((path) => path.startsWith('/docs/'))
    .map((path) => `${HONO_DOCS}${path.slice('/docs'.length)}.md`);
}

/** Hit@K, MRR@K and answer containment over the questions, for one site. */
async function score(
  h: Harness,
  site: string,
  questions: Question[],
  pathOf: (url: string) => string,
) {
  let hits = 0;
  let reciprocal = 0;
  let contained = 0;
  for (const q of questions) {
    const response = await h.request('POST', `/api/v1/sites/${site}/search`, {
      json: { query: q.question, k: K },
    });
    const { results } = (await response.json()) as {
      results: Array<{ url: string; text: string }>;
    };
    const paths = results.map((r) => pathOf(r.url));
    const rank = paths.findIndex((path) => q.sources!.includes(path));
    if (rank >= 0) {
      hits += 1;
      reciprocal += 1 / (rank + 1);
    }
    const text = results.map((r) => r.text.toLowerCase()).join('\n');
    if (q.answers!.every((group) => group.some((answer) => text.includes(answer.toLowerCase()))))
      contained += 1;
  }
  const n = questions.length;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    hitAt5: round(hits / n),
    mrrAt5: round(reciprocal / n),
    answerInTop5: round(contained / n),
  };
}

async function main() {
  const questions = readFileSync(
    new URL('../../shared/data/qa/hono/questions.jsonl', import.meta.url),
    'utf8',
  )
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Question)
    .filter((q) => q.kind === 'answerable' && q.sources !== undefined && q.answers !== undefined);
  const web = await startWebServer(renderHonoSite());
  const database = await createTestDatabase(db);
  const h = await startHarness({
    database,
    env: {
      EMBEDDER: 'hash',
      RERANKER: 'none',
      CRAWL_ALLOW_HOSTS: '127.0.0.1',
      SYNC_SCHEDULER_MS: '0',
    },
  });
  try {
    await h.createSite('files');
    const documents = markdownFiles().map((file) => {
      const markdown = readFileSync(file, 'utf8');
      const title = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim() ?? relative(HONO_DOCS, file);
      return {
        title,
        content: markdown,
        format: 'markdown',
        url: `https://files.invalid/${relative(HONO_DOCS, file)}`,
      };
    });
    for (let i = 0; i < documents.length; i += 50) {
      const response = await h.request('POST', '/api/v1/sites/files/documents', {
        json: { documents: documents.slice(i, i + 50) },
      });
      if (response.status >= 300) throw new Error(await response.text());
    }
    await h.createSite('synced');
    await h.request('POST', '/api/v1/sites/synced/sources', {
      json: { sitemap: `${web.origin}/sitemap.xml` },
    });
    const sync = await h.request('POST', '/api/v1/sites/synced/sync', { json: {} });
    const { runs } = await sync.json();
    const files = await score(h, 'files', questions, (url) =>
      url.replace('https://files.invalid/', ''),
    );
    const synced = await score(
      h,
      'synced',
      questions,
      (url) => `${url.replace(`${web.origin}/docs/`, '')}.md`,
    );
    const result = {
      benchmark: 'sync-quality',
      command: `npm run bench:sync-quality -- --db ${db}`,
      date: new Date().toISOString(),
      machine: machineInfo(),
      database: db,
      embedder: 'hash',
      reranker: 'none',
      questions: questions.length,
      syncStats: runs[0].stats,
      fileIngested: files,
      synced,
      note: 'retrieval of the source page and of the expected answer strings; not the answer-quality harness',
    };
    writeResult('sync-quality', result);
  } finally {
    await h.close();
    await web.close();
  }
}

runMain(main);
