import { z } from 'zod';

/** Why a search result ranks where it does. Ranks are 1-based; null when a list did not hold it. */
export const Scores = z
  .object({
    vectorRank: z.number().int().nullable(),
    vectorSimilarity: z.number().nullable(),
    fulltextRank: z.number().int().nullable(),
    fulltextScore: z.number().nullable(),
    fused: z.number(),
    rerank: z.number().nullable(),
  })
  .strict();

/** One retrieved chunk with its document's title, URL and heading path. */
export const SearchHit = z
  .object({
    chunkId: z.number().int(),
    documentId: z.number().int(),
    title: z.string(),
    url: z.string().nullable(),
    source: z.string(),
    headingPath: z.array(z.string()),
    text: z.string(),
    scores: Scores,
  })
  .strict();

/** The body of `POST /api/v1/sites/:site/search`. */
export const SearchResponse = z
  .object({
    results: z.array(SearchHit),
    /** The best result does not clear the relevance threshold: an answer would say "I don't know". */
    noGoodAnswer: z.boolean(),
    relevance: z
      .object({
        basis: z.enum(['rerank', 'similarity', 'fulltext', 'terms', 'none']),
        best: z.number().nullable(),
        threshold: z.number().nullable(),
      })
      .strict(),
    /** The reranker that ordered the results, when one did. */
    reranker: z.string().nullable(),
    tookMs: z.number().int().min(0),
  })
  .strict();
export type SearchResponse = z.infer<typeof SearchResponse>;

/** The body of `POST /api/v1/sites/:site/messages/:messageId/feedback`: the vote as stored. */
export const FeedbackResponse = z
  .object({
    feedback: z
      .object({
        messageId: z.string(),
        rating: z.enum(['up', 'down']),
        comment: z.string().nullable(),
        updatedAt: z.iso.datetime(),
      })
      .strict(),
  })
  .strict();
export type FeedbackResponse = z.infer<typeof FeedbackResponse>;

/** The body of `GET /api/v1/sites/:site/config`: what a reader's front end needs, nothing more. */
export const ReaderConfigResponse = z
  .object({
    site: z
      .object({
        name: z.string(),
        title: z.string(),
        suggestions: z.array(z.string()),
        handoffUrl: z.string().nullable(),
        lang: z.string().nullable(),
      })
      .strict(),
  })
  .strict();
export type ReaderConfigResponse = z.infer<typeof ReaderConfigResponse>;
export type ReaderSiteConfig = ReaderConfigResponse['site'];

/**
 * The body of `GET /api/v1/health`, whatever its status: `ok`, or `unavailable` with a 503 when
 * the database does not answer (a status report, not an error body). With the admin token the
 * operator's details come beside `status`.
 */
export const HealthResponse = z.looseObject({ status: z.enum(['ok', 'unavailable']) });
export type HealthResponse = z.infer<typeof HealthResponse>;
