import { readFile } from 'node:fs/promises';
import { createSite, deleteSite } from '../api.js';
import { type Product, type ProductOptions, startProduct } from '../product.js';
import { ask, type ChatReply } from './chat.js';
import type { QaQuestion, QaSet } from './questions.js';
import { type AnswerScores, judge, pageOf, summarize, type Verdict } from './score.js';

/** Files per upload request, as the CLI sends them. */
const UPLOAD_BATCH = 25;

/** One question's outcome, kept whole for the report and the JSON. */
export interface QuestionResult {
  id: string;
  kind: QaQuestion['kind'];
  question: string;
  verdict: Verdict;
  answer: string;
  cited: string[];
  /** Every page the answer could cite (the `sources` event), to tell retrieval misses apart. */
  retrieved: string[];
  expectedSources: string[];
  ttftMs: number | null;
  error: string | null;
}

export interface AnswerReport {
  documents: { given: number; stored: number; failed: string[] };
  scores: AnswerScores;
  byKind: Record<string, { asked: number; correct: number; falseRefusals: number }>;
  /**
   * The same figures for the questions with odd and with even numbers in their ids: rules are
   * tuned on one half and confirmed on the other, so a rule fitted to a few questions shows.
   */
  byHalf: { odd: AnswerScores; even: AnswerScores };
  ttftMs: { p50: number | null; p95: number | null };
  results: QuestionResult[];
}

export interface AnswerRunOptions extends ProductOptions {
  /** Only the first N questions (a follow-up's first question is asked whenever it is needed). */
  limit?: number | undefined;
  onProgress?: (done: number, total: number) => void;
  /**
   * Fills the site in place of uploading `docs/` (e.g. a sync of the same pages served as a
   * website); `pageOf` then names a cited source as the set names its pages (`api/context.md`).
   */
  ingest?: (product: Product, site: string, set: QaSet) => Promise<AnswerReport['documents']>;
  pageOf?: (source: string) => string;
}

/**
 * Measures answer quality end to end, through the product's API only: a fresh site, every page
 * of `docs/` uploaded under its relative path as the CLI does, every question asked through the
 * chat stream (a follow-up in its first question's conversation), each reply judged.
 */
export async function runAnswerEvaluation(
  set: QaSet,
  options: AnswerRunOptions = {},
): Promise<AnswerReport> {
  const product = await startProduct(options);
  const site = `qa-${Date.now().toString(36)}`;
  try {
    await createSite(product, site);
    const documents = await (options.ingest ?? upload)(product, site, set);
    const questions = set.questions.slice(0, options.limit ?? set.questions.length);
    const conversations = new Map<string, string | null>();
    const byId = new Map(set.questions.map((q) => [q.id, q]));
    const results: QuestionResult[] = [];
    for (const question of questions) {
      let conversation: string | null = null;
      if (question.kind === 'followup') {
        const first = byId.get(question.previous!)!;
        if (!conversations.has(first.id)) {
          conversations.set(
            first.id,
            (await ask(product, site, first.question, null)).conversationId,
          );
        }
        conversation = conversations.get(first.id) ?? null;
      }
      const reply = await ask(product, site, question.question, conversation);
      conversations.set(question.id, reply.conversationId);
      results.push(resultOf(question, reply, options.pageOf ?? pageOf));
      options.onProgress?.(results.length, questions.length);
    }
    return report(documents, results);
  } finally {
    if (options.databaseUrl !== undefined) await deleteSite(product, site).catch(() => {});
    await product.close();
  }
}

async function upload(
  product: Product,
  site: string,
  set: QaSet,
): Promise<AnswerReport['documents']> {
  const failed: string[] = [];
  let stored = 0;
  for (let i = 0; i < set.documents.length; i += UPLOAD_BATCH) {
    const form = new FormData();
    const batch = set.documents.slice(i, i + UPLOAD_BATCH);
    for (const doc of batch) form.append('file', new Blob([await readFile(doc.file)]), doc.path);
    const response = await product.raw(`/api/v1/sites/${site}/documents`, {
      method: 'POST',
      body: form,
    });
    if (response.status >= 300) {
      failed.push(
        `${batch.map((d) => d.path).join(', ')}: HTTP ${response.status} ${await response.text()}`,
      );
      continue;
    }
    await response.body?.cancel();
  }
  const listed = await product.call('GET', '/api/v1/sites');
  const sites = (listed.body as { sites?: Array<{ name: string; documentCount?: number }> } | null)
    ?.sites;
  stored = sites?.find((s) => s.name === site)?.documentCount ?? 0;
  return { given: set.documents.length, stored, failed };
}

function resultOf(
  question: QaQuestion,
  reply: ChatReply,
  pageOf: (source: string) => string,
): QuestionResult {
  const cited = reply.sources
    .filter((source) => reply.cited.includes(source.n))
    .map((source) => pageOf(source.source ?? source.url ?? ''));
  const verdict = judge(question, {
    text: reply.text,
    cited,
    refused: reply.finishReason === 'no_answer',
  });
  return {
    id: question.id,
    kind: question.kind,
    question: question.question,
    verdict:
      reply.error === null ? verdict : question.kind === 'unanswerable' ? verdict : 'missing_fact',
    answer: reply.text,
    cited,
    retrieved: [
      ...new Set(reply.sources.map((source) => pageOf(source.source ?? source.url ?? ''))),
    ],
    expectedSources: question.sources,
    ttftMs: reply.ttftMs,
    error: reply.error === null ? null : `${reply.error.code}: ${reply.error.message}`,
  };
}

function report(documents: AnswerReport['documents'], results: QuestionResult[]): AnswerReport {
  const byKind: AnswerReport['byKind'] = {};
  for (const r of results) {
    const row = byKind[r.kind] ?? { asked: 0, correct: 0, falseRefusals: 0 };
    byKind[r.kind] = row;
    row.asked += 1;
    if (r.verdict === 'correct') row.correct += 1;
    if (r.verdict === 'false_refusal') row.falseRefusals += 1;
  }
  const ttfts = results.flatMap((r) => (r.ttftMs === null ? [] : [r.ttftMs])).sort((a, b) => a - b);
  const at = (q: number) =>
    ttfts.length === 0 ? null : ttfts[Math.min(ttfts.length - 1, Math.floor(q * ttfts.length))]!;
  const half = (parity: number) =>
    summarize(results.filter((r) => Number(/\d+/.exec(r.id)?.[0] ?? 0) % 2 === parity));
  return {
    documents,
    scores: summarize(results),
    byKind,
    byHalf: { odd: half(1), even: half(0) },
    ttftMs: { p50: at(0.5), p95: at(0.95) },
    results,
  };
}
