import type pg from 'pg';
import type { Embedder } from '../embedders/types.js';
import type { AnswerOutcome } from '../store/conversations.js';
import {
  citationCounts,
  documentsNotCited,
  feedbackCounts,
  outcomesByDay,
  storeQuestionEmbeddings,
  ttftPercentiles,
  type WindowQuestion,
  windowQuestions,
} from '../store/insights.js';
import { clusterByMeaning } from './cluster.js';

/** Bounds of one report: questions grouped, groups kept, questions embedded late per call. */
export const INSIGHT_LIMITS = {
  questions: 2_000,
  clusters: 200,
  lateEmbeddings: 256,
  topGroups: 10,
  examples: 3,
  notCited: 20,
};

/** A group of questions with the same meaning. */
export interface QuestionGroup {
  /** The group's most frequent wording. */
  question: string;
  count: number;
  unanswered: number;
  downvoted: number;
  examples: string[];
}

export interface InsightsReport {
  days: number;
  since: string;
  outcomes: {
    total: Record<AnswerOutcome, number>;
    byDay: Array<{ day: string } & Record<AnswerOutcome, number>>;
  };
  ttftMs: { p50: number | null; p90: number | null; p99: number | null; count: number };
  feedback: { up: number; down: number };
  topQuestions: QuestionGroup[];
  coverageGaps: QuestionGroup[];
  mostCited: Array<{ documentId: string | null; title: string; count: number }>;
  neverCited: { total: number; documents: Array<{ id: string; title: string; source: string }> };
  /** How many questions were grouped (the newest, up to the limit). */
  questionsGrouped: number;
}

const OUTCOMES: AnswerOutcome[] = ['answered', 'no_answer', 'partial', 'error'];

/** The operator's figures for one site over the last `days` days. */
export async function insightsReport(
  db: pg.Pool,
  embedder: Embedder,
  siteId: number,
  options: { days: number; threshold: number; now?: Date },
): Promise<InsightsReport> {
  const since = new Date((options.now ?? new Date()).getTime() - options.days * 86_400_000);
  const [rows, ttft, feedback, cited, questions] = await Promise.all([
    outcomesByDay(db, siteId, since),
    ttftPercentiles(db, siteId, since),
    feedbackCounts(db, siteId, since),
    citationCounts(db, siteId, since),
    windowQuestions(db, siteId, since, INSIGHT_LIMITS.questions),
  ]);
  const zero = () =>
    Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<AnswerOutcome, number>;
  const total = zero();
  const days = new Map<string, Record<AnswerOutcome, number>>();
  for (const row of rows) {
    const day = days.get(row.day) ?? zero();
    day[row.outcome] += row.count;
    total[row.outcome] += row.count;
    days.set(row.day, day);
  }
  const neverCited = await documentsNotCited(
    db,
    siteId,
    {
      ids: cited.flatMap((c) => (c.documentId === null ? [] : [c.documentId])),
      titles: cited.map((c) => c.title),
    },
    INSIGHT_LIMITS.notCited,
  );
  const groups = await groupQuestions(db, embedder, questions, options.threshold);
  return {
    days: options.days,
    since: since.toISOString(),
    outcomes: { total, byDay: [...days].map(([day, counts]) => ({ day, ...counts })) },
    ttftMs: ttft,
    feedback,
    topQuestions: groups.slice(0, INSIGHT_LIMITS.topGroups),
    coverageGaps: groups
      .filter((group) => group.unanswered > 0)
      .sort((a, b) => b.unanswered - a.unanswered || b.count - a.count)
      .slice(0, INSIGHT_LIMITS.topGroups),
    mostCited: cited.slice(0, INSIGHT_LIMITS.topGroups),
    neverCited,
    questionsGrouped: questions.length,
  };
}

/**
 * Groups the questions by meaning with their stored embeddings. Questions stored without one
 * (follow-ups, or embedded by another embedder) are embedded now, a bounded number per call,
 * and stored so that the next report reads them.
 */
async function groupQuestions(
  db: pg.Pool,
  embedder: Embedder,
  questions: WindowQuestion[],
  threshold: number,
): Promise<QuestionGroup[]> {
  const usable = (q: WindowQuestion) => q.embedding?.length === embedder.dimension;
  const missing = questions.filter((q) => !usable(q)).slice(0, INSIGHT_LIMITS.lateEmbeddings);
  if (missing.length > 0) {
    const vectors = await embedder.embed(missing.map((q) => q.text));
    missing.forEach((q, i) => {
      q.embedding = vectors[i]!;
    });
    await storeQuestionEmbeddings(
      db,
      missing.map((q) => q.id),
      vectors,
    );
  }
  // Oldest first, so that a group's leader is the first way it was asked.
  const items = questions
    .filter(usable)
    .reverse()
    .map((q) => ({ item: q, vector: q.embedding! }));
  const clusters = clusterByMeaning(items, { threshold, maxClusters: INSIGHT_LIMITS.clusters });
  return clusters
    .map(({ members }) => describeGroup(members))
    .sort((a, b) => b.count - a.count || b.unanswered - a.unanswered);
}

function describeGroup(members: WindowQuestion[]): QuestionGroup {
  const wordings = new Map<string, number>();
  for (const member of members) {
    const key = member.text.trim();
    wordings.set(key, (wordings.get(key) ?? 0) + 1);
  }
  const ranked = [...wordings].sort((a, b) => b[1] - a[1]).map(([text]) => text);
  return {
    question: ranked[0] ?? '',
    count: members.length,
    unanswered: members.filter((m) => m.outcome === 'no_answer').length,
    downvoted: members.filter((m) => m.rating === 'down').length,
    examples: ranked.slice(0, INSIGHT_LIMITS.examples),
  };
}
