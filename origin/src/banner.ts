import type { AdminToken } from './admin-token.js';
import { UPGRADE_HINT } from './models/offer.js';

/** Sites named in the banner; past it, a count and the command that lists them all. */
export const BANNER_SITES = 5;

/** What the start banner tells a person at the terminal. */
export interface BannerFacts {
  version: string;
  /** Where the origin listens, as a browser on this machine reaches it. */
  url: string;
  database: 'pglite' | 'postgres';
  dataDir: string;
  /** The first `BANNER_SITES` sites by name (with the embedder that indexed each), and how many there are. */
  sites: Array<{ name: string; publicKey: string; embedder: string | null }>;
  totalSites: number;
  /** False when an edge serves the chat site instead of this origin. */
  chatServed: boolean;
  admin: Omit<AdminToken, 'token'>;
  embedder: string;
}

/**
 * The few lines printed on every start at a terminal: where to chat with each site, where the
 * admin token is, which embedder serves, and the next command to try. Plain text, no colour.
 */
export function renderBanner(facts: BannerFacts): string {
  const store =
    facts.database === 'pglite'
      ? `embedded database in ${facts.dataDir}`
      : 'PostgreSQL at DATABASE_URL';
  const rows: Array<[string, string]> = [];
  if (!facts.chatServed) {
    rows.push(['Chat', 'served by the edge (this origin serves the API only)']);
  } else {
    for (const site of facts.sites) {
      rows.push([
        `Chat with ${site.name}`,
        `${facts.url}/s/${encodeURIComponent(site.name)}?key=${encodeURIComponent(site.publicKey)}`,
      ]);
      // After an upgrade of the embedder, a site indexed with the old one answers nothing until
      // it is re-embedded: say so where its address is.
      if (site.embedder !== null && site.embedder !== facts.embedder)
        rows.push([
          '',
          `indexed with ${site.embedder}: npm run rag -- reindex --site ${site.name}`,
        ]);
    }
    const more = facts.totalSites - facts.sites.length;
    if (more > 0) rows.push(['', `and ${more} more: npm run rag -- sites`]);
  }
  rows.push(['Admin token', adminLine(facts.admin)]);
  rows.push([
    'Embeddings',
    facts.embedder.startsWith('hash')
      ? `offline hash embedder; ${UPGRADE_HINT}`
      : `model ${facts.embedder.replace(/^transformers:/, '')}`,
  ]);
  rows.push([
    'Next',
    facts.totalSites === 0
      ? 'npm run rag -- ingest <folder> --site <name>   (in a second terminal)'
      : 'open a chat address above, or add documents: npm run rag -- ingest <folder> --site <name>',
  ]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.map(
    ([label, value]) => `  ${`${label}${label ? ':' : ''}`.padEnd(width)}${value}`,
  );
  return `\nragedge ${facts.version} is ready at ${facts.url} (${store})\n\n${lines.join('\n')}\n\n`;
}

function adminLine(admin: BannerFacts['admin']): string {
  switch (admin.source) {
    case 'environment':
      return 'from ADMIN_TOKEN';
    case 'generated':
      return `generated now in ${admin.file} (keep it secret)`;
    case 'file':
      return `in ${admin.file}`;
  }
}
