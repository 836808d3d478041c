import type { Context } from 'hono';
import type { Site } from './store/sites.js';

/** Hono's environment for the origin app: what middleware establishes for the handlers after it. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** How a reader route was reached: the admin token, or a site's public key. */
    access?: 'admin' | 'reader';
  };
}

/** Spends one point of a reader route's budgets (a no-op for the admin); see `readerLimits`. */
export type SpendBudget = (conversationId?: string) => Promise<void>;

/**
 * The environment of the reader routes (chat, search, config, feedback): `readerAccess` has let
 * the request in and resolved the site its path names, once; `readerLimits`, where mounted, has
 * checked the client's budget and left the function that spends it.
 */
export interface ReaderEnv {
  Variables: AppEnv['Variables'] & {
    access: 'admin' | 'reader';
    site: Site;
    spendBudget?: SpendBudget;
  };
}

/**
 * The budget spender `readerLimits` left for this request. Throws (a 500) where the route was
 * mounted without it, so that a route can never run unlimited by mistake.
 */
export function budgetOf(c: Context<ReaderEnv>): SpendBudget {
  const spend = c.get('spendBudget');
  if (spend === undefined) throw new Error('readerLimits is not mounted on this route');
  return spend;
}
