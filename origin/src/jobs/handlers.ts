import type { SyncRunner } from '../crawl/runner.js';
import type { Database } from '../db/database.js';
import type { Embedder } from '../embedders/types.js';
import type { IngestionService } from '../services/ingestion.js';
import { reindexSite } from '../services/reindex.js';
import { type JobKind, readJobInputs } from '../store/jobs.js';
import { getSiteById } from '../store/sites.js';
import { listWebSources } from '../store/web-sources.js';
import { fromJobInput } from './inputs.js';
import type { JobContext, JobHandler } from './worker.js';

/** What the handlers run with: the same services the synchronous routes use. */
export interface JobHandlerDeps {
  db: Database;
  ingestion: IngestionService;
  embedder: Embedder;
  sync: SyncRunner;
  embedBatchSize: number;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('the job was stopped before it finished');
}

/**
 * The handler of each job kind. Each one is safe to run again after a crash: an upload is stored
 * in one transaction (a rerun finds the documents unchanged), a reindex in one transaction, and a
 * sync compares pages with what is stored.
 */
export function jobHandlers(deps: JobHandlerDeps): Record<JobKind, JobHandler> {
  return {
    async ingest(job, context: JobContext) {
      const site = await getSiteById(deps.db.pool, job.siteId);
      const inputs = (await readJobInputs(deps.db.pool, job.id)).map(fromJobInput);
      const prepared = [];
      for (const input of inputs) {
        throwIfAborted(context.signal);
        await context.progress({ phase: 'parsing', done: prepared.length, total: inputs.length });
        prepared.push(await deps.ingestion.prepare(site, input));
      }
      throwIfAborted(context.signal);
      const chunks = prepared.reduce((sum, doc) => sum + doc.chunks.length, 0);
      await context.progress({ phase: 'storing', documents: prepared.length, chunks });
      const results = await deps.ingestion.storeAll(site, prepared);
      return {
        // The shape of a synchronous upload's answer, with the fields a client follows up on.
        results: results.map(({ outcome, document }) => ({
          outcome,
          document: {
            id: document.id,
            title: document.title,
            source: document.source,
            chunkCount: document.chunkCount,
          },
        })),
      };
    },
    async reindex(job, context) {
      const site = await getSiteById(deps.db.pool, job.siteId);
      let reported = 0;
      const reindexed = await reindexSite(
        deps.db,
        deps.embedder,
        site,
        deps.embedBatchSize,
        (done, total) => {
          // A progress write per tenth of the work at most.
          if (done - reported < total / 10 && done < total) return;
          reported = done;
          void context.progress({ phase: 'embedding', done, total });
        },
      );
      return { reindexed };
    },
    async sync(job, context) {
      const site = await getSiteById(deps.db.pool, job.siteId);
      const payload = job.payload as { sourceId?: number; dryRun?: boolean };
      const ids =
        payload.sourceId !== undefined
          ? [payload.sourceId]
          : (await listWebSources(deps.db.pool, site.id)).map((source) => source.id);
      const runs = [];
      for (const [index, id] of ids.entries()) {
        throwIfAborted(context.signal);
        await context.progress({ phase: 'syncing', done: index, total: ids.length });
        runs.push({ sourceId: id, ...(await deps.sync.run(site, id, { dryRun: payload.dryRun })) });
      }
      return { runs };
    },
  };
}
