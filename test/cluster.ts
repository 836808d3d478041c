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

/**
 * Starts `count` origins (CHAT_STREAMS=redis on `redisUrl`, so that any of them resumes any
 * answer) and one Worker in front of them all, as a site with several VPSs runs. `env` is added
 * to every origin's environment. Everything started is stopped when a later start fails.
 */
export async function startCluster(options: {
  count: number;
  database: TestDatabase;
  redisUrl: string;
  env?: Record<string, string>;
  edgeLogLevel?: 'info' | 'warn';
}): Promise<Cluster> {
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
  const stopOrigins = () => Promise.all(origins.map((origin) => origin.stop('SIGKILL')));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await stopOrigins();
    throw (failed as PromiseRejectedResult).reason;
  }
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
