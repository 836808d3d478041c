import { z } from 'zod';
import { parseTrustedProxies, type TrustedProxies } from './lib/client-ip.js';

const MiB = 1024 * 1024;

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** A comma-separated list; blanks and empty items dropped. */
const list = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/**
 * Every environment variable the origin reads. `loadConfig` is the only reader of the
 * environment; the parsed object is passed down to whatever needs it.
 */
export const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(0, 65_535, 8000),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    /** `auto`: human-readable lines on a terminal, JSON lines otherwise (files, journald, Docker). */
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    /** PostgreSQL connection string; without it the origin runs on an embedded PGlite. */
    DATABASE_URL: optionalText.pipe(
      z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
    ),
    /** A read-only streaming replica: searches and chat retrieval of caught-up sites read there. */
    DATABASE_READ_URL: optionalText.pipe(
      z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
    ),
    DATA_DIR: z.string().min(1).default('./data'),
    DB_POOL_MAX: int(1, 100, 10),
    DB_STATEMENT_TIMEOUT_MS: int(100, 600_000, 30_000),
    /** Longest wait for a pooled database client (or a new connection) before a 503. */
    DB_ACQUIRE_TIMEOUT_MS: int(100, 60_000, 15_000),
    /** Requests allowed to wait for a busy pool at once; the next one gets a 503 at once. */
    DB_MAX_WAITING: int(0, 100_000, 2_000),
    /** A busy pool with no client handed out or back for this long is stuck: new requests get a 503 at once (0: off). */
    DB_STALL_MS: int(0, 60_000, 2_000),
    /** What DATABASE_URL reaches: PostgreSQL itself, or PgBouncer in transaction mode. */
    DB_POOLER: z.enum(['none', 'pgbouncer']).default('none'),
    ADMIN_TOKEN: optionalText.pipe(z.string().min(24, 'must be at least 24 characters').optional()),
    EMBEDDER: z.enum(['auto', 'transformers', 'hash']).default('auto'),
    EMBEDDING_MODEL: z.string().min(1).default('Xenova/paraphrase-multilingual-MiniLM-L12-v2'),
    EMBEDDING_DTYPE: z.enum(['fp32', 'q8']).default('q8'),
    MODELS_DIR: z.string().min(1).default('./models'),
    /**
     * Fetch missing models at start: `auto` offers to in a terminal and never otherwise, `always`
     * fetches without asking, `never` serves the offline embedder until `models:fetch` is run.
     */
    MODELS_FETCH: z.enum(['auto', 'always', 'never']).default('auto'),
    /** Where models are fetched from: the Hugging Face hub, or a mirror of it. */
    MODELS_HUB_URL: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .default('https://huggingface.co'),
    EMBED_BATCH_SIZE: int(1, 256, 32),
    /** Embedding calls (one batch each) run at once; the model is CPU-bound on 2 cores. */
    EMBED_CONCURRENCY: int(1, 64, 2),
    /** Embedding calls allowed to wait; past it a request gets 503 `overloaded`. */
    EMBED_QUEUE_MAX: int(0, 100_000, 1_000),
    HASH_EMBEDDER_DIM: int(16, 4096, 384),
    CHUNK_MAX_TOKENS: int(32, 2048, 256),
    CHUNK_OVERLAP_TOKENS: int(0, 512, 32),
    RERANKER: z.enum(['auto', 'cross-encoder', 'lexical', 'none']).default('auto'),
    RERANK_MODEL: z.string().min(1).default('Xenova/ms-marco-MiniLM-L-6-v2'),
    RERANK_TOP_N: int(1, 200, 30),
    /** Rerank calls (one query's candidates each) run at once. */
    RERANK_CONCURRENCY: int(1, 64, 1),
    /** Rerank calls allowed to wait; past it a request gets 503 `overloaded`. */
    RERANK_QUEUE_MAX: int(0, 100_000, 100),
    /** Lowest cross-encoder logit that counts as relevant (the "no good answer" signal). */
    RERANK_MIN_SCORE: z.coerce.number().min(-100).max(100).default(0),
    /** Lowest cosine similarity that counts as relevant; defaults by embedder when unset. */
    SEARCH_MIN_SIMILARITY: optionalText.pipe(
      z.coerce.number<string | undefined>().min(-1).max(1).optional(),
    ),
    SEARCH_RRF_K: int(1, 1000, 60),
    /** Weight of the vector list in the fusion; defaults by embedder when unset. */
    SEARCH_VECTOR_WEIGHT: optionalText.pipe(
      z.coerce.number<string | undefined>().min(0).max(10).optional(),
    ),
    SEARCH_FULLTEXT_WEIGHT: z.coerce.number().min(0).max(10).default(1),
    SEARCH_MIN_DEPTH: int(1, 1000, 50),
    SEARCH_FEEDBACK_DOCS: int(0, 50, 10),
    SEARCH_FEEDBACK_TERMS: int(0, 50, 10),
    SEARCH_FEEDBACK_ORIGINAL_WEIGHT: z.coerce.number().min(0).max(1).default(0.7),
    /**
     * Memory for the sites' in-memory BM25 postings (0: rank every lexical list in SQL). About
     * 12 bytes a posting: a 200k-chunk site takes ~150 MiB; 256 leaves the 4 GB VPS room for
     * PostgreSQL, Redis and the models. A site that does not fit is ranked in SQL.
     */
    SEARCH_INDEX_MEMORY_MB: int(0, 65_536, 256),
    /**
     * A first load of a dimension's vectors goes in without the HNSW index, built once the
     * writes pause this long (0: the index is created before the first write and maintained row
     * by row); at most VECTOR_INDEX_MAX_DEFER_MS after the load began.
     */
    VECTOR_INDEX_BUILD_IDLE_MS: int(0, 600_000, 10_000),
    VECTOR_INDEX_MAX_DEFER_MS: int(0, 86_400_000, 300_000),
    /** `maintenance_work_mem` of an index build: the graph of ~200k 384-d vectors fits in 512. */
    VECTOR_INDEX_BUILD_MEMORY_MB: int(16, 8192, 512),
    BM25_K1: z.coerce.number().min(0).max(10).default(1.2),
    BM25_B: z.coerce.number().min(0).max(1).default(0.75),
    MAX_QUERY_CHARS: int(16, 10_000, 1000),
    /** An OpenAI-compatible chat-completions endpoint; without it answers are extractive. */
    LLM_BASE_URL: optionalText.pipe(
      z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    ),
    LLM_API_KEY: optionalText,
    LLM_MODEL: z.string().min(1).default('gpt-4o-mini'),
    LLM_TIMEOUT_MS: int(1000, 600_000, 60_000),
    LLM_MAX_TOKENS: int(16, 32_000, 800),
    /** The product's own chat site origins: always allowed to use a site's public key. */
    PUBLIC_ORIGINS: list,
    CHAT_SOURCES: int(1, 20, 6),
    CHAT_HISTORY_TURNS: int(0, 20, 6),
    CHAT_PING_MS: int(50, 60_000, 15_000),
    CHAT_DETACH_GRACE_MS: int(0, 60_000, 1_500),
    CHAT_RESUME_WINDOW_MS: int(1_000, 600_000, 60_000),
    CHAT_MAX_STREAMS: int(1, 100_000, 2_000),
    /** Redis for the answer cache (allkeys-lru is fine); without it the cache is in process. */
    REDIS_URL: optionalText.pipe(
      z.url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' }).optional(),
    ),
    /** Redis for rate limits, `noeviction`, so cache pressure can never reset a limit. */
    RATE_LIMIT_REDIS_URL: optionalText.pipe(
      z.url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' }).optional(),
    ),
    /** Prefix of every Redis key, so that several deployments (or test runs) can share a server. */
    REDIS_KEY_PREFIX: z.string().min(1).max(64).default('ragedge:'),
    CACHE_TTL_SECONDS: int(0, 7 * 24 * 3600, 3600),
    CACHE_SIMILARITY: z.coerce.number().min(0.5).max(1).default(0.92),
    RATE_LIMIT_CHAT_PER_MINUTE: int(1, 100_000, 20),
    RATE_LIMIT_SEARCH_PER_MINUTE: int(1, 100_000, 60),
    RATE_LIMIT_SITE_CHAT_PER_MINUTE: int(1, 1_000_000, 600),
    /** Secret header the edge Worker sends; when it matches, its client IP header is trusted. */
    EDGE_SHARED_SECRET: optionalText.pipe(
      z.string().min(24, 'must be at least 24 characters').optional(),
    ),
    /**
     * Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the reader, e.g. nginx on
     * the same machine; `none` says readers connect directly. Without it and without the edge's
     * secret, every reader behind a proxy would share the proxy's address and budget.
     */
    TRUSTED_PROXIES: list,
    /**
     * Host names (optionally `host:port`) this origin answers as itself: only a page from one of
     * them gets the same-origin rule, and only they reach loopback `/metrics` without a token.
     * Unset: the hosts of PUBLIC_ORIGINS and the loopback names (DNS rebinding gets neither).
     */
    ALLOWED_HOSTS: list,
    /** Largest JSON body a reader route (chat, search) accepts, in bytes. */
    READER_BODY_MAX_BYTES: int(1024, 1024 * 1024, 32 * 1024),
    /** Largest share of a site's chat budget one client may spend in a minute (percent). */
    RATE_LIMIT_CLIENT_SHARE_PERCENT: int(1, 100, 10),
    /** Readers' conversations and messages are deleted this many days after their last message (0: never). */
    RETENTION_DAYS: int(0, 3650, 30),
    /** Conversations kept per site; past it the oldest are deleted first (0: no cap). */
    MAX_CONVERSATIONS_PER_SITE: int(0, 100_000_000, 100_000),
    /** How often the retention job runs. */
    RETENTION_INTERVAL_MINUTES: int(1, 24 * 60, 60),
    /** Answers kept after they finished, for readers who reconnect; the oldest go first. */
    CHAT_MAX_RETAINED_STREAMS: int(0, 100_000, 500),
    /**
     * Where answers in progress are kept for a resume: `memory` (this process; only the origin
     * producing an answer can resume it) or `redis` (Redis Streams at REDIS_URL: with several
     * origins, any of them resumes any answer and takes over one whose origin died).
     */
    CHAT_STREAMS: z.enum(['memory', 'redis']).default('memory'),
    /** How long a producing origin's claim on an answer lasts unrenewed before another takes over. */
    CHAT_STREAM_LEASE_MS: int(500, 60_000, 5_000),
    /** Readers following answers from Redis at once (each holds a Redis connection). */
    CHAT_MAX_SHARED_READERS: int(1, 10_000, 200),
    /** Resumes one client may make per minute. */
    RATE_LIMIT_RESUME_PER_MINUTE: int(1, 100_000, 30),
    /** Longest one document may take to parse (in a worker thread) before it is refused. */
    PARSE_TIMEOUT_MS: int(100, 600_000, 15_000),
    /** Heap limit of the parsing worker thread, in MB. */
    PARSE_MAX_MEMORY_MB: int(32, 8192, 512),
    /** Most characters of text one document may decode to (a PDF's inflated streams included). */
    PARSE_MAX_TEXT_CHARS: int(1000, 500_000_000, 20_000_000),
    /** Deepest element nesting an HTML document may have. */
    PARSE_MAX_HTML_DEPTH: int(16, 10_000, 512),
    MAX_UPLOAD_MB: int(1, 1024, 50),
    /** On SIGTERM, time for streams to be told and requests to finish; keep under Docker's stop timeout. */
    SHUTDOWN_GRACE_MS: int(100, 120_000, 10_000),
    MAX_FILES_PER_UPLOAD: int(1, 1000, 100),
    /** Hosts the crawler may reach although they resolve to private addresses (comma-separated). */
    CRAWL_ALLOW_HOSTS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((host) => host.trim().toLowerCase())
          .filter((host) => host !== ''),
      ),
    /** Pages one sync fetches at once (a robots.txt crawl delay lowers it to one). */
    CRAWL_CONCURRENCY: int(1, 32, 4),
    CRAWL_MAX_PAGE_MB: int(1, 1024, 20),
    CRAWL_TIMEOUT_MS: int(1_000, 300_000, 20_000),
    CRAWL_MAX_REDIRECTS: int(0, 20, 5),
    /** Longest robots.txt crawl delay obeyed; a site asking for more is synced at this pace. */
    CRAWL_MAX_DELAY_MS: int(0, 60_000, 10_000),
    /** Highest page limit a web source may have. */
    SYNC_MAX_PAGES: int(1, 1_000_000, 10_000),
    /** How often the origin looks for due syncs (0: never; manual syncs still run). */
    SYNC_SCHEDULER_MS: int(0, 86_400_000, 60_000),
    /** A running sync renews its claim on its source for this long; a killed origin's claim lapses after it. */
    SYNC_LEASE_SECONDS: int(3, 3_600, 90),
    /** Uploads larger than this (KiB, all files together) are queued as a job and answered 202 (0: never by size). */
    INGEST_ASYNC_KB: int(0, 1_048_576, 4_096),
    /** Jobs (queued uploads, reindexes, syncs) this origin runs at once (0: none, other origins run them). */
    JOBS_CONCURRENCY: int(0, 16, 1),
    /** How often an idle origin looks for jobs that other origins queued. */
    JOBS_POLL_MS: int(100, 600_000, 2_000),
    /** A running job renews its claim for this long; a killed origin's jobs are taken up after it. */
    JOBS_LEASE_SECONDS: int(3, 3_600, 60),
    /** Attempts a job gets (an origin dying mid-job uses one) before it is failed. */
    JOBS_MAX_ATTEMPTS: int(1, 20, 3),
    JOBS_MAX_PENDING_PER_SITE: int(1, 10_000, 100),
    /** Finished jobs are kept this long for the API and CLI to show. */
    JOBS_KEEP_DAYS: int(1, 3_650, 14),
    /** Fill a `demo` site with the project's own docs on a first start: `auto` = on PGlite only. */
    DEMO_SITE: z.enum(['auto', 'on', 'off']).default('auto'),
    /** Serve the chat site from SITE_DIR: `auto` = unless an edge is in front (EDGE_SHARED_SECRET). */
    SERVE_SITE: z.enum(['auto', 'true', 'false']).default('auto'),
    /** The built chat site (`node web/build.mjs` writes it). */
    SITE_DIR: z.string().min(1).default('./dist/site'),
    /** The built widget that `GET /widget.js` serves (`node web/build.mjs` writes it). */
    WIDGET_FILE: z.string().min(1).default('./dist/widget/widget.js'),
    /** The built admin console that `/admin` serves (`node web/build.mjs` writes it). */
    ADMIN_DIR: z.string().min(1).default('./dist/admin'),
    /** How long a console sign-in lasts. */
    ADMIN_SESSION_HOURS: int(1, 720, 12),
    /** Cosine similarity at which insights put two questions in one group; by embedder when unset. */
    INSIGHTS_GROUP_SIMILARITY: optionalText.pipe(
      z.coerce.number<string | undefined>().min(0).max(1).optional(),
    ),
    /** Site webhook deliveries waiting at most, and the first retry's delay (doubling after). */
    WEBHOOK_QUEUE_MAX: int(1, 100_000, 1_000),
    WEBHOOK_RETRY_MS: int(10, 600_000, 2_000),
  })
  .superRefine((value, ctx) => {
    if (value.DATABASE_READ_URL !== undefined && value.DATABASE_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_READ_URL'],
        message: 'a read replica needs DATABASE_URL (the embedded database has no replica)',
      });
    }
    if (value.CHUNK_OVERLAP_TOKENS * 2 >= value.CHUNK_MAX_TOKENS) {
      ctx.addIssue({
        code: 'custom',
        path: ['CHUNK_OVERLAP_TOKENS'],
        message: 'must be less than half of CHUNK_MAX_TOKENS',
      });
    }
    try {
      parseTrustedProxies(value.TRUSTED_PROXIES.filter((entry) => entry !== 'none'));
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        path: ['TRUSTED_PROXIES'],
        message: (error as Error).message,
      });
    }
    if (
      value.NODE_ENV === 'production' &&
      value.EDGE_SHARED_SECRET === undefined &&
      value.TRUSTED_PROXIES.length === 0
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['TRUSTED_PROXIES'],
        message:
          'is required in production without EDGE_SHARED_SECRET: behind a proxy every reader would share its address and one reader could lock out all. Set EDGE_SHARED_SECRET (the edge Worker names the reader), or TRUSTED_PROXIES to the proxies in front (e.g. 127.0.0.1 for nginx on this machine), or TRUSTED_PROXIES=none if readers connect directly',
      });
    }
    if (value.CHAT_STREAMS === 'redis' && value.REDIS_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['CHAT_STREAMS'],
        message: 'is redis, which needs REDIS_URL',
      });
    }
    if (value.NODE_ENV === 'production' && value.ADMIN_TOKEN === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_TOKEN'], message: 'is required in production' });
    }
  });

export type RawConfig = z.infer<typeof ConfigSchema>;

/** The origin's configuration, parsed once at boot. */
export interface Config extends RawConfig {
  /** `MAX_UPLOAD_MB` in bytes. */
  maxUploadBytes: number;
  /** `TRUSTED_PROXIES`, parsed (empty for `none`). */
  trustedProxies: TrustedProxies;
  /** `ALLOWED_HOSTS`, or its default, lowercase. */
  allowedHosts: readonly string[];
}

/** Raised when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws a `ConfigError` naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      return `  ${name}: ${issue.message} (got ${describeValue(env[String(issue.path[0])], name)})`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const data = result.data;
  return {
    ...data,
    maxUploadBytes: data.MAX_UPLOAD_MB * MiB,
    trustedProxies: parseTrustedProxies(data.TRUSTED_PROXIES.filter((entry) => entry !== 'none')),
    allowedHosts: allowedHosts(data.ALLOWED_HOSTS, data.PUBLIC_ORIGINS),
  };
}

/** Loopback names: a local browser or Prometheus reaches the origin by one of these. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

function allowedHosts(configured: readonly string[], publicOrigins: readonly string[]): string[] {
  if (configured.length > 0) return configured.map((host) => host.toLowerCase());
  const own = publicOrigins.flatMap((origin) => {
    try {
      return [new URL(origin).hostname.toLowerCase()];
    } catch {
      return [];
    }
  });
  return [...new Set([...LOOPBACK_HOSTS, ...own])];
}

function describeValue(value: string | undefined, name: string): string {
  if (value === undefined) return 'nothing';
  if (/TOKEN|SECRET|PASSWORD|KEY|DATABASE_URL/.test(name)) return 'a value that is not shown';
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
