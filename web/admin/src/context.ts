import type { SiteJson } from './api.js';

/** What every page is given: the sites, the one chosen, and ways to report and move. */
export interface PageContext {
  sites: SiteJson[];
  site: SiteJson | null;
  /** Reloads the list of sites (after a create or an edit) and redraws the page. */
  reload(): Promise<void>;
  /** Says something to everyone, screen readers included (a polite live region). */
  say(message: string, kind?: 'ok' | 'error'): void;
  go(page: string, site?: string): void;
}

export type Page = (ctx: PageContext) => Promise<Node>;
