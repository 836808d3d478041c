import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../origin/test/harness.js';
import type { Collection } from '../origin/tools/eval/collection.js';
import { PRODUCT_RUNS, runEvaluation } from '../origin/tools/eval/run.js';

/** Five documents with clearly distinct vocabularies, two with the same title, one untitled. */
const COLLECTION: Collection = {
  name: 'tiny',
  documents: [
    { id: '1', title: 'Wings', text: 'lift of a swept wing in a propeller slipstream' },
    { id: '2', title: 'Wings', text: 'heat transfer through a turbulent boundary layer' },
    { id: '3', title: '', text: 'supersonic nozzle design with shock waves' },
    { id: '4', title: 'Buckling of shells', text: '' },
    { id: '5', title: 'Flutter', text: 'panel flutter at high dynamic pressure\u0000' },
  ],
  queries: [
    { id: 'q1', text: 'propeller slipstream lift' },
    { id: 'q2', text: 'turbulent heat transfer' },
    { id: 'q3', text: 'nozzle shock' },
    { id: 'q4', text: 'unjudged question' },
  ],
  qrels: new Map([
    ['q1', new Map([['1', 2]])],
    ['q2', new Map([['2', 1]])],
    ['q3', new Map([['3', 1]])],
  ]),
};

describe(`eval runner (${TEST_DB})`, () => {
  let database: TestDatabase | null = null;
  let report: Awaited<ReturnType<typeof runEvaluation>>;
  const progress: string[] = [];

  beforeAll(async () => {
    if (TEST_DB === 'postgres') database = await createTestDatabase();
    report = await runEvaluation(COLLECTION, {
      databaseUrl: database?.url,
      k: 10,
      progress: (line) => progress.push(line),
    });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('ingests every document through the API; one the API refuses costs only itself', () => {
    // Document 5 holds a NUL character, which the API refuses: its batch is retried one by one.
    expect(report.ingestion).toMatchObject({ stored: 4, failed: 1 });
    expect(report.ingestion?.refused).toEqual([{ id: '5', reason: expect.stringMatching(/NUL/) }]);
  });

  it('scores the BM25 reference and every product setting, skipping unjudged queries', () => {
    expect(report.rows.map((row) => row.label)).toEqual([
      'BM25 reference',
      ...PRODUCT_RUNS.map((run) => run.label),
    ]);
    for (const row of report.rows) {
      expect(row.error, row.label).toBeNull();
      expect(row.scores, row.label).toMatchObject({ evaluated: 3, skipped: 1 });
    }
    expect(report.rows[0]!.scores!.ndcg10).toBe(1);
  });

  it('maps the product results back to collection ids (full-text finds each exact match first)', () => {
    const fulltext = report.rows.find((row) => row.label === 'full-text only')!;
    expect(fulltext.scores!.mrr).toBe(1);
    expect(fulltext.ratioToBm25).toBe(1);
  });

  it('reports progress in bounded lines', () => {
    expect(progress.some((line) => line.startsWith('ingest batches: 1/1'))).toBe(true);
    expect(progress.length).toBeLessThanOrEqual(1 + PRODUCT_RUNS.length * 10);
  });
});
