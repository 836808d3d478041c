import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Hono } from 'hono';
import type { AppEnv } from './app-env.js';
import type { Services } from './services.js';
import { countSites } from './store/sites.js';

/** The site a first start on the embedded default fills with the product's own documentation. */
export const DEMO_SITE = 'demo';
/** Bounded: the README and the guides, never a whole folder tree. */
const MAX_DEMO_FILES = 20;

/**
 * On a first start of the embedded default (PGlite, no site yet, `DEMO_SITE=auto`), creates the
 * `demo` site from the project's own Markdown (README.md and docs/*.md under `root`), through the
 * app's own API so that the usual checks apply, and returns the chat page's path for the log.
 * Returns null when nothing was seeded; a failure is logged and never stops the start.
 */
export async function seedDemoSite(
  app: Hono<AppEnv>,
  services: Services,
  root = process.cwd(),
): Promise<string | null> {
  const { config, logger } = services;
  if (config.DEMO_SITE === 'off') return null;
  if (config.DEMO_SITE === 'auto' && services.db.kind !== 'pglite') return null;
  try {
    if ((await countSites(services.db.pool)) > 0) return null;
    const files = await demoFiles(root);
    if (files.length === 0) return null;
    const call = (method: string, path: string, body: unknown) =>
      app.request(path, {
        method,
        headers: {
          authorization: `Bearer ${services.adminToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
    const created = await call('POST', '/api/v1/sites', {
      name: DEMO_SITE,
      title: 'ragedge documentation',
    });
    if (created.status !== 201) throw new Error(`creating the site: HTTP ${created.status}`);
    const { site } = (await created.json()) as { site: { publicKey: string } };
    const documents = await Promise.all(
      files.map(async (file) => ({
        title: basename(file, '.md'),
        content: await readFile(file, 'utf8'),
        format: 'markdown',
      })),
    );
    const ingested = await call('POST', `/api/v1/sites/${DEMO_SITE}/documents`, { documents });
    if (ingested.status !== 201) throw new Error(`ingesting: HTTP ${ingested.status}`);
    logger.info({ site: DEMO_SITE, documents: documents.length }, 'demo site created');
    return `/s/${DEMO_SITE}?key=${encodeURIComponent(site.publicKey)}`;
  } catch (error) {
    logger.warn({ err: error }, 'could not create the demo site; continuing without it');
    return null;
  }
}

async function demoFiles(root: string): Promise<string[]> {
  const docs = resolve(root, 'docs');
  const guides = await readdir(docs).catch(() => [] as string[]);
  const candidates = [
    resolve(root, 'README.md'),
    ...guides.filter((name) => name.endsWith('.md')).map((name) => join(docs, name)),
  ];
  const found: string[] = [];
  for (const file of candidates.slice(0, MAX_DEMO_FILES)) {
    const readable = await readFile(file).then(
      () => true,
      () => false,
    );
    if (readable) found.push(file);
  }
  return found;
}
