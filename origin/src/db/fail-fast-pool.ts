import pg from 'pg';
import { AppError } from '../errors.js';

/** How long to wait for a pooled client, and how many may wait, before refusing with a 503. */
export interface AcquireLimits {
  /** Wait for a free client (or a new connection) at most this long. */
  acquireTimeoutMs: number;
  /** Callers allowed to wait at once when every client is busy; one more is refused at once. */
  maxWaiting: number;
  /**
   * When every client is busy and none has been handed out or given back for this long, the pool
   * is stuck behind slow work: a new caller is refused at once instead of joining the queue.
   * A busy pool that keeps turning over (a thousand quick chat turns) is not stuck, and its
   * callers wait their turn. 0 turns the check off.
   */
  stallMs?: number;
}

/** What pg-pool says when `connectionTimeoutMillis` passes while a caller waits in its queue. */
const QUEUE_TIMEOUT = /timeout exceeded when trying to connect/;

/** The 503 a caller gets when the pool is saturated; `Retry-After` tells clients when to try. */
export function overloaded(cause?: unknown): AppError {
  return new AppError('overloaded', 'the server is busy; try again shortly', {
    cause,
    headers: { 'Retry-After': '2' },
  });
}

/**
 * A `pg.Pool` whose waiting queue is bounded in length and in time. pg-pool's own queue grows
 * without limit and, without `connectionTimeoutMillis`, waits forever: under slow queries every
 * new request would pile up behind them and hold its HTTP connection open. Here a caller that
 * finds every client busy and either `maxWaiting` others already waiting or the pool stuck (no
 * turnover for `stallMs`) is refused at once, and one that waits longer than `acquireTimeoutMs`
 * is refused then; all get `overloaded` (503).
 *
 * pg 8.23's `connectionTimeoutMillis` bounds both the wait in the queue and the opening of a new
 * connection; a timeout while opening a connection means the server is unreachable and is left
 * as pg's error, which the error handler answers as `database_unavailable`.
 */
export class FailFastPool extends pg.Pool {
  private readonly maxClients: number;
  private readonly maxWaiting: number;
  private readonly stallMs: number;
  /** When a client was last handed out or given back. */
  private lastTurnover = performance.now();
  /**
   * When the event loop last ran this pool's heartbeat. A loop blocked by a long synchronous
   * step (PGlite runs its queries on this thread; a GC pause) sees no turnover either, but the
   * pool is not stuck: only time the loop was free to notice a release counts towards a stall.
   */
  private lastTick = performance.now();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(config: pg.PoolConfig, limits: AcquireLimits) {
    super({ ...config, connectionTimeoutMillis: limits.acquireTimeoutMs });
    this.maxClients = config.max ?? 10;
    this.maxWaiting = limits.maxWaiting;
    this.stallMs = limits.stallMs ?? 0;
    if (this.stallMs > 0) {
      this.heartbeat = setInterval(
        () => {
          this.lastTick = performance.now();
        },
        Math.max(10, Math.min(250, this.stallMs / 4)),
      );
      this.heartbeat.unref();
    }
    const turnover = () => {
      this.lastTurnover = performance.now();
    };
    this.on('acquire', turnover);
    this.on('release', turnover);
    // pg-pool listens for errors only on idle clients. A checked-out client (a transaction) whose
    // server goes away emits 'error' with no listener, and that would kill the process; its
    // pending query fails anyway and, no longer queryable, it is dropped when released.
    this.on('connect', (client) => {
      client.on('error', () => {});
    });
  }

  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | undefined {
    clearInterval(this.heartbeat);
    if (callback === undefined) return super.end();
    super.end(callback);
    return undefined;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(
    callback: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): void;
  override connect(
    callback?: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): Promise<pg.PoolClient> | undefined {
    const busy = this.totalCount >= this.maxClients && this.idleCount === 0;
    const stuck = this.stallMs > 0 && this.lastTick - this.lastTurnover > this.stallMs;
    if (busy && (this.waitingCount >= this.maxWaiting || stuck)) {
      const error = overloaded();
      if (callback === undefined) return Promise.reject(error);
      process.nextTick(() => callback(error, undefined, () => {}));
      return undefined;
    }
    const translate = (error: Error) =>
      busy && QUEUE_TIMEOUT.test(error.message) ? overloaded(error) : error;
    if (callback === undefined) {
      return super.connect().catch((error: Error) => {
        throw translate(error);
      });
    }
    super.connect((error, client, done) =>
      callback(error === undefined || error === null ? error : translate(error), client, done),
    );
    return undefined;
  }
}
