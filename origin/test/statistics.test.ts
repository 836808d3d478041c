import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatisticsRefresher } from '../src/db/statistics.js';
import { type Harness, startHarness, TEST_DB } from './harness.js';

describe(`statistics after bulk writes (${TEST_DB})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { CHUNK_MAX_TOKENS: '32', CHUNK_OVERLAP_TOKENS: '0' } });
    await h.createSite('stats');
  });
  afterAll(async () => {
    await h?.close();
  });

  const estimatedPostings = async () => {
    const { rows } = await h.services.db.pool.query<{ n: number }>(
      "select reltuples::float8 as n from pg_class where relname = 'chunk_terms'",
    );
    return rows[0]!.n;
  };

  it('analyzes once enough rows were written, in the background and one at a time', async () => {
    const refresher = new StatisticsRefresher({ pool: h.services.db.pool, minRows: 20 });
    const response = await h.request('POST', '/api/v1/sites/stats/documents', {
      json: {
        documents: Array.from({ length: 30 }, (_, i) => ({
          title: `Note ${i}`,
          url: `https://stats.test/${i}`,
          content: `Turbine blade ${i} vibration was measured in the wind tunnel at Mach ${i}.`,
        })),
      },
    });
    expect(response.status).toBe(201);
    // Never analyzed yet: PostgreSQL says so with a negative estimate.
    expect(await estimatedPostings()).toBeLessThan(1);
    refresher.noteWrites(10);
    await refresher.settled();
    expect(await estimatedPostings()).toBeLessThan(1);
    refresher.noteWrites(10);
    await refresher.settled();
    const { rows } = await h.services.db.pool.query<{ n: number }>(
      'select count(*)::float8 as n from chunk_terms',
    );
    expect(await estimatedPostings()).toBe(rows[0]!.n);
  });
});
