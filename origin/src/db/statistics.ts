import type pg from 'pg';

/** The tables whose statistics drive the retrieval plans. */
const ANALYZE_SQL = 'analyze chunks, chunk_terms, site_terms, documents';

/**
 * Refreshes the planner's statistics after bulk writes. Autovacuum analyzes a table only once
 * a tenth of it changed and only on its next round, so the first queries after a large ingest
 * ran on the statistics of a far smaller table (10–100× slower plans). Writers report the rows
 * they committed; past `minRows` and a tenth of what the tables held at the last refresh, one
 * `ANALYZE` runs in the background (never two at once).
 */
export class StatisticsRefresher {
  private pending = 0;
  private baseline = 0;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: {
      pool: pg.Pool;
      minRows?: number;
      onError?: (error: unknown) => void;
    },
  ) {}

  /** Notes `rows` chunks written (inserted, replaced or deleted) by a committed transaction. */
  noteWrites(rows: number): void {
    this.pending += rows;
    if (this.running !== null) return;
    if (this.pending < Math.max(this.deps.minRows ?? 1_000, this.baseline / 10)) return;
    const written = this.pending;
    this.pending = 0;
    this.running = this.refresh(written).finally(() => {
      this.running = null;
    });
  }

  /** Waits for the refresh in progress, if any (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async refresh(written: number): Promise<void> {
    try {
      await this.deps.pool.query(ANALYZE_SQL);
      const { rows } = await this.deps.pool.query<{ n: number }>(
        "select greatest(reltuples, 0)::float8 as n from pg_class where relname = 'chunks'",
      );
      this.baseline = rows[0]?.n ?? this.baseline + written;
    } catch (error) {
      this.deps.onError?.(error);
    }
  }
}
