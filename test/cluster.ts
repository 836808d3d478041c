import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN, type TestDatabase } from '../origin/test/harness.js';
import { type EdgeProcess, newEdgeSecret, startEdge } from './edge-process.js';
import { type OriginProcess, startOrigin } from './origin-process.js';

/** Several origin processes on one database and one Redis, behind the Worker in workerd. */
export interface Cluster {
  origins: OriginProcess[];
  edge: EdgeProcess;
  secret: string;
  /** The Redis key prefix the origins share (unique to this cluster). */
  keyPrefix: string;
  /** The origin whose access log has the request `requestId`, if any. */
  originOf(requestId: string): OriginProcess | undefined;
  stop(): Promise<void>;
}

/** The settings of several origins sharing one database and one Redis. */
export interface OriginsOptions {
  count: number;
  database: TestDatabase;
  redisUrl: string;
  /** Added to every origin's environment. */
  env?: Record<string, string>;
}

/**
 * Starts `count` origins (CHAT_STREAMS=redis on `redisUrl`, so that any of them resumes any
 * answer) with a fresh edge secret and Redis key prefix; when one fails to start, the others are
 * stopped. For a cluster behind a Worker other than `wrangler dev` (benchmarks).
 */
export async function startOrigins(options: OriginsOptions) {
  const secret = newEdgeSecret();
  const keyPrefix = `test:cluster:${randomUUID()}:`;
  const env = {
    EMBEDDER: 'hash',
    RERANKER: 'none',
    ADMIN_TOKEN,
    EDGE_SHARED_SECRET: secret,
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    CHAT_STREAMS: 'redis',
    ...options.database.env,
    ...options.env,
  };
  const started = await Promise.allSettled(
    Array.from({ length: options.count }, () => startOrigin(env)),
  );
  const origins = started.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(origins.map((origin) => origin.stop('SIGKILL')));
    throw (failed as PromiseRejectedResult).reason;
  }
  return { origins, secret, keyPrefix };
}

/**
 * Starts `count` origins (see `startOrigins`) and one Worker in `wrangler dev` in front of them
 * all, as a site with several VPSs runs. Everything started is stopped when a later start fails.
 */
export async function startCluster(
  options: OriginsOptions & { edgeLogLevel?: 'info' | 'warn' },
): Promise<Cluster> {
  const { origins, secret, keyPrefix } = await startOrigins(options);
  const stopOrigins = () => Promise.all(origins.map((origin) => origin.stop('SIGKILL')));
  let edge: EdgeProcess;
  try {
    edge = await startEdge({
      originUrls: origins.map((origin) => origin.url),
      secret,
      logLevel: options.edgeLogLevel,
    });
  } catch (error) {
    await stopOrigins();
    throw error;
  }
  return {
    origins,
    edge,
    secret,
    keyPrefix,
    originOf: (requestId) =>
      origins.find((origin) => origin.logs.some((line) => line.includes(`"${requestId}"`))),
    async stop() {
      await edge.stop();
      await Promise.all(origins.map((origin) => origin.stop()));
    },
  };
}
