import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../origin/test/harness.js';
import { loadCollection } from '../origin/tools/eval/collection.js';
import { type EvalReport, runEvaluation } from '../origin/tools/eval/run.js';

const CRANFIELD = new URL('../../shared/data/ir/cranfield/', import.meta.url).pathname;
/** Queries in the slice: all 1,400 documents are ingested, the first 50 queries are run. */
const SLICE = 50;

/**
 * A ranking regression fails CI: the product's rankings on a slice of a judged collection must
 * stay at least at these fractions of the in-memory BM25 reference measured in the same run.
 * The floors sit a little under the figures this slice gives today (see BENCHMARKS.md).
 */
const FLOORS: Record<string, number> = {
  'full-text only': 1.07,
  hybrid: 1.01,
};

describe.runIf(existsSync(CRANFIELD))(`ranking on a Cranfield slice (${TEST_DB})`, () => {
  let database: TestDatabase | null = null;
  let report: EvalReport;
  beforeAll(async () => {
    if (TEST_DB === 'postgres') database = await createTestDatabase();
    const collection = await loadCollection(CRANFIELD);
    report = await runEvaluation(collection, {
      databaseUrl: database?.url,
      queries: SLICE,
      k: 100,
    });
  }, 300_000);
  afterAll(async () => {
    await database?.drop();
  });

  it('ingests every document', () => {
    expect(report.ingestion).toMatchObject({ stored: 1400, failed: 0 });
  });

  for (const [label, floor] of Object.entries(FLOORS)) {
    it(`keeps ${label} at ${floor}× the BM25 reference's nDCG@10 or better`, () => {
      const row = report.rows.find((r) => r.label === label);
      const bm25 = report.rows.find((r) => r.label === 'BM25 reference');
      expect(row?.failedQueries).toBe(0);
      console.log(
        `${label}: nDCG@10 ${row?.scores?.ndcg10.toFixed(4)} vs BM25 ${bm25?.scores?.ndcg10.toFixed(4)} (${row?.ratioToBm25?.toFixed(3)}×)`,
      );
      expect(row?.ratioToBm25).toBeGreaterThanOrEqual(floor);
    });
  }
});
