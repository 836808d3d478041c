import type pg from 'pg';
import { AdminSessions } from '../admin/session.js';
import { type AdminToken, resolveAdminToken } from '../admin-token.js';
import type { Config } from '../config.js';
import { feedbackTokens } from '../feedback/token.js';
import { WebhookNotifier } from '../feedback/webhook.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import { isSignedOut, recordSignOut } from '../store/admin-signouts.js';

/** The configuration the operator's side takes. */
export type OperatorConfig = Pick<
  Config,
  | 'ADMIN_TOKEN'
  | 'DATA_DIR'
  | 'ADMIN_SESSION_HOURS'
  | 'WEBHOOK_QUEUE_MAX'
  | 'WEBHOOK_RETRY_MS'
  | 'INSIGHTS_GROUP_SIMILARITY'
>;

/**
 * The admin token (given, read from the data folder, or generated there) and what hangs off it:
 * console sessions, readers' feedback tokens, site webhooks, the insights' grouping threshold.
 */
export function buildOperator(
  config: OperatorConfig,
  logger: Logger,
  embedderId: string,
  /** Where sign-outs are shared with the other origins. */
  pool: pg.Pool,
): { admin: AdminToken; operator: Services['operator'] } {
  const admin = resolveAdminToken(config.ADMIN_TOKEN, config.DATA_DIR);
  if (admin.source === 'generated')
    logger.info({ file: admin.file }, 'admin token generated (first start)');
  if (admin.source === 'file') logger.info({ file: admin.file }, 'admin token read from file');
  return {
    admin,
    operator: {
      sessions: new AdminSessions(admin.token, {
        ttlMs: config.ADMIN_SESSION_HOURS * 3_600_000,
        signOuts: {
          isSignedOut: (hash) => isSignedOut(pool, hash),
          recordSignOut: (hash, expires) => recordSignOut(pool, hash, expires),
        },
      }),
      feedbackTokens: feedbackTokens(admin.token),
      webhooks: new WebhookNotifier({
        logger,
        maxQueue: config.WEBHOOK_QUEUE_MAX,
        baseDelayMs: config.WEBHOOK_RETRY_MS,
      }),
      groupSimilarity: config.INSIGHTS_GROUP_SIMILARITY ?? defaultGroupSimilarity(embedderId),
    },
  };
}

/** Similarity at which two questions are one group: the hash embedder's run lower. */
function defaultGroupSimilarity(embedderId: string): number {
  return embedderId.startsWith('hash') ? 0.6 : 0.8;
}
