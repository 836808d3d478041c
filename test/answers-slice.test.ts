import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../origin/test/harness.js';
import { loadQaSet } from '../origin/tools/eval/answers/questions.js';
import { type AnswerReport, runAnswerEvaluation } from '../origin/tools/eval/answers/run.js';

const HONO = new URL('../../shared/data/qa/hono/', import.meta.url).pathname;

/**
 * An answer-quality regression fails CI: the whole Hono QA set (83 pages, 60 questions, about
 * 20 s) asked through the chat API on the embedded default (hash embedder, extractive answers).
 * The floors sit a little under the figures reached (see BENCHMARKS.md).
 */
const FLOORS = { accuracy: 0.7, maxFalseRefusals: 0.1, refusals: 0.66 };

describe.runIf(existsSync(HONO))(`answers on the Hono QA set (${TEST_DB})`, () => {
  let database: TestDatabase | null = null;
  let report: AnswerReport;
  beforeAll(async () => {
    if (TEST_DB === 'postgres') database = await createTestDatabase();
    report = await runAnswerEvaluation(await loadQaSet(HONO), { databaseUrl: database?.url });
    const { scores } = report;
    console.log(
      `answers: ${scores.answerableCorrect}/${scores.answerable} correct, ${scores.falseRefusals} false refusals, ${scores.unanswerableRefused}/${scores.unanswerable} unanswerable refused`,
    );
  }, 600_000);
  afterAll(async () => {
    await database?.drop();
  });

  it('stores every page of the corpus under its own path', () => {
    expect(report.documents).toMatchObject({ given: 83, stored: 83, failed: [] });
  });

  it(`answers at least ${FLOORS.accuracy * 100}% of answerable and follow-up questions right`, () => {
    expect(report.scores.accuracy).toBeGreaterThanOrEqual(FLOORS.accuracy);
  });

  it(`refuses at most ${FLOORS.maxFalseRefusals * 100}% of them`, () => {
    expect(report.scores.falseRefusalRate).toBeLessThanOrEqual(FLOORS.maxFalseRefusals);
  });

  it(`refuses at least ${FLOORS.refusals * 100}% of unanswerable questions`, () => {
    expect(report.scores.refusalAccuracy).toBeGreaterThanOrEqual(FLOORS.refusals);
  });

  it('cites only sources it listed, with no error', () => {
    for (const result of report.results) expect(result.error).toBeNull();
  });
});
