import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../origin/test/harness.js';
import { loadQaSet } from '../origin/tools/eval/answers/questions.js';
import { type AnswerReport, runAnswerEvaluation } from '../origin/tools/eval/answers/run.js';
import { pageOfUrl, syncFrom } from './synced-answers.js';
import { renderHonoSite, startWebServer, type TestWebServer } from './web-site.js';

const HONO = new URL('../../shared/data/qa/hono/', import.meta.url).pathname;

/**
 * The answer-quality harness over the Hono docs synced from their rendered website (a sitemap on
 * loopback) instead of uploaded as files: the same floors as the file-ingested run
 * (`answers-slice.test.ts`), which the synced site met with the same figures (29/48, 0 false
 * refusals, 9/12 refused; `bench/results/answers-hono-synced-*.json`), and citations that are
 * the pages' URLs.
 */
const FLOORS = { accuracy: 0.7, maxFalseRefusals: 0.1, refusals: 0.66 };

/**
 * PostgreSQL only in CI: on PGlite the same run took 160 s on the loaded CI machine (it passed);
 * `npm run bench:answers-synced -- --db pglite` measures PGlite (same figures).
 */
describe.runIf(existsSync(HONO) && TEST_DB === 'postgres')(
  `answers over the synced Hono site (${TEST_DB})`,
  () => {
    let database: TestDatabase | null = null;
    let web: TestWebServer;
    let report: AnswerReport;
    /** Every source a reply listed, as the product gave it. */
    const rawSources: string[] = [];
    beforeAll(async () => {
      if (TEST_DB === 'postgres') database = await createTestDatabase();
      web = await startWebServer(renderHonoSite());
      report = await runAnswerEvaluation(await loadQaSet(HONO), {
        databaseUrl: database?.url,
        settings: { CRAWL_ALLOW_HOSTS: '127.0.0.1' },
        ingest: syncFrom(`${web.origin}/sitemap.xml`),
        pageOf: (source) => {
          rawSources.push(source);
          return pageOfUrl(source);
        },
      });
    }, 600_000);
    afterAll(async () => {
      await web?.close();
      await database?.drop();
    });

    it('syncs every page of the site', () => {
      expect(report.documents).toMatchObject({ given: 83, stored: 83, failed: [] });
    });

    it('scores at the file-ingested floors', () => {
      expect(report.scores.accuracy).toBeGreaterThanOrEqual(FLOORS.accuracy);
      expect(report.scores.falseRefusalRate).toBeLessThanOrEqual(FLOORS.maxFalseRefusals);
      expect(report.scores.refusalAccuracy).toBeGreaterThanOrEqual(FLOORS.refusals);
      for (const result of report.results) expect(result.error).toBeNull();
    });

    it('cites the synced pages by their URLs on the site', () => {
      expect(rawSources.length).toBeGreaterThan(0);
      for (const source of rawSources) expect(source.startsWith(`${web.origin}/docs/`)).toBe(true);
      const correct = report.results.filter(
        (r) => r.verdict === 'correct' && r.kind !== 'unanswerable',
      );
      expect(correct.length).toBeGreaterThan(0);
      // A correct answer cites a right page: named back from a URL of the served site.
      for (const result of correct) {
        expect(result.cited.some((page) => result.expectedSources.includes(page))).toBe(true);
      }
    });
  },
);
