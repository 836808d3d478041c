import { parseArgs } from 'node:util';
import { readAdminToken } from '../../src/admin-token.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { plural } from '../../src/lib/plural.js';
import { ApiClient, ApiError } from './api-client.js';
import { ingestCommand } from './ingest.js';
import { jobCommand, jobsCommand } from './jobs.js';
import { insightsCommand, questionsCommand } from './operator.js';
import { pageUrl, URL_STYLES, type UrlStyle } from './page-urls.js';
import { addSource, listSources, removeSource, syncCommand } from './sources.js';

const USAGE = `Usage: npm run rag -- <command> [options]

Commands:
  ingest <file|folder> --site <name>   upload .md .txt .html .pdf .docx .csv files (creates the site if needed)
         [--base-url https://docs.example.com/] [--url-style clean|html|file]
                                       link each file to its published page: clean drops .md
                                       and index.md (default), html turns .md into .html
  sites                                list sites with document and chunk counts
  sites create <name> [--title T] [--origin https://a.example ...]
  reindex --site <name>                re-embed a site with the embedder the origin serves
  questions <site> [--unanswered|--downvoted] [--limit N]
                                       readers' questions, answers, outcomes and votes
  insights <site> [--days N]           top questions, coverage gaps, citations, TTFT
  sources add <site> --sitemap <url> | --crawl <url> [--prefix /docs/] [--include GLOB ...]
          [--exclude GLOB ...] [--max-pages N] [--header "Name: value"] [--every 6h]
  sources list <site>                  web sources with the status of their last sync
  sources remove <site> <id>           a web source and the documents it brought
  sync <site> [--source <id>] [--dry-run]   sync web sources now
  jobs <site> [--status queued|running|succeeded|failed] [--limit N]
                                       queued work (large uploads, reindexes, syncs) and its state
  job <site> <id> [--wait]             one job: progress, result or error
  migrate                              apply database migrations (the origin also does at boot)

Options:
  --server <url>   the origin (default http://HOST:PORT from the environment)
  -h, --help       this text

The admin token comes from ADMIN_TOKEN, or from DATA_DIR/admin-token written by the origin.`;

/** Runs one CLI command; returns the process exit code. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      site: { type: 'string' },
      server: { type: 'string' },
      title: { type: 'string' },
      origin: { type: 'string', multiple: true },
      'base-url': { type: 'string' },
      'url-style': { type: 'string' },
      sitemap: { type: 'string' },
      crawl: { type: 'string' },
      prefix: { type: 'string' },
      include: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      'max-pages': { type: 'string' },
      header: { type: 'string' },
      every: { type: 'string' },
      source: { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      unanswered: { type: 'boolean' },
      downvoted: { type: 'boolean' },
      limit: { type: 'string' },
      days: { type: 'string' },
      status: { type: 'string' },
      wait: { type: 'boolean' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  const config = loadConfig(env);

  if (command === 'migrate') {
    const db = await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolMax: 1,
      statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    });
    try {
      const applied = await migrate(db.pool);
      process.stdout.write(
        applied.length === 0
          ? 'database is up to date\n'
          : `applied migrations ${applied.join(', ')}\n`,
      );
    } finally {
      await db.close();
    }
    return 0;
  }

  const token = readAdminToken(config.ADMIN_TOKEN, config.DATA_DIR);
  if (token === null) {
    process.stderr.write(
      'no admin token: set ADMIN_TOKEN, or start the origin once so that it writes DATA_DIR/admin-token\n',
    );
    return 1;
  }
  const host = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;
  const api = new ApiClient(values.server ?? `http://${host}:${config.PORT}`, token);

  switch (command) {
    case 'ingest': {
      const path = rest[0];
      if (path === undefined || values.site === undefined) {
        process.stderr.write('usage: ingest <file|folder> --site <name>\n');
        return 2;
      }
      const urlStyle = values['url-style'] ?? 'clean';
      if (!(URL_STYLES as readonly string[]).includes(urlStyle)) {
        process.stderr.write('--url-style: must be clean, html or file\n');
        return 2;
      }
      if (values['base-url'] !== undefined) pageUrl(values['base-url'], 'index.md', 'clean');
      return ingestCommand(api, path, values.site, {
        baseUrl: values['base-url'],
        urlStyle: urlStyle as UrlStyle,
      });
    }
    case 'sites':
      if (rest[0] === 'create') {
        const name = rest[1];
        if (name === undefined) {
          process.stderr.write('usage: sites create <name> [--title T] [--origin URL ...]\n');
          return 2;
        }
        const { site } = await api.request<{ site: { name: string; publicKey: string } }>(
          'POST',
          '/api/v1/sites',
          {
            name,
            title: values.title,
            allowedOrigins: values.origin ?? [],
          },
        );
        process.stdout.write(`created site ${site.name}, public key ${site.publicKey}\n`);
        return 0;
      }
      return listSitesCommand(api);
    case 'reindex': {
      if (values.site === undefined) {
        process.stderr.write('usage: reindex --site <name>\n');
        return 2;
      }
      const started = performance.now();
      const { reindexed } = await api.request<{
        reindexed: { chunks: number; from: string | null; to: string };
      }>('POST', `/api/v1/sites/${encodeURIComponent(values.site)}/reindex`);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(
        `re-embedded ${plural(reindexed.chunks, 'chunk')} of ${values.site} with ${reindexed.to} (was ${reindexed.from ?? 'none'}) in ${seconds} s\n`,
      );
      return 0;
    }
    case 'questions':
    case 'insights': {
      const site = rest[0] ?? values.site;
      if (site === undefined) {
        process.stderr.write(`usage: ${command} <site>\n`);
        return 2;
      }
      const write = (text: string) => void process.stdout.write(text);
      if (command === 'insights') {
        return insightsCommand(api, site, Number(values.days ?? 30), write);
      }
      const filter =
        values.unanswered === true ? 'unanswered' : values.downvoted === true ? 'downvoted' : 'all';
      return questionsCommand(api, site, { filter, limit: Number(values.limit ?? 50) }, write);
    }
    case 'sources': {
      const [action, site, id] = rest;
      if (site === undefined || !['add', 'list', 'remove'].includes(action ?? '')) {
        process.stderr.write('usage: sources add|list|remove <site> ...\n');
        return 2;
      }
      if (action === 'list') return listSources(api, site);
      if (action === 'remove') {
        if (id === undefined) {
          process.stderr.write('usage: sources remove <site> <id>\n');
          return 2;
        }
        return removeSource(api, site, id);
      }
      return addSource(api, site, {
        sitemap: values.sitemap,
        crawl: values.crawl,
        prefix: values.prefix,
        include: values.include,
        exclude: values.exclude,
        maxPages: values['max-pages'],
        header: values.header,
        every: values.every,
      });
    }
    case 'sync': {
      const site = rest[0];
      if (site === undefined) {
        process.stderr.write('usage: sync <site> [--source <id>] [--dry-run]\n');
        return 2;
      }
      return syncCommand(api, site, { source: values.source, dryRun: values['dry-run'] });
    }
    case 'jobs':
    case 'job': {
      const [site, id] = rest;
      if (site === undefined || (command === 'job' && id === undefined)) {
        process.stderr.write(`usage: ${command} <site>${command === 'job' ? ' <id>' : ''}\n`);
        return 2;
      }
      if (command === 'job') return jobCommand(api, site, id!, values.wait === true);
      return jobsCommand(api, site, { status: values.status, limit: values.limit });
    }
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

async function listSitesCommand(api: ApiClient): Promise<number> {
  const { sites } = await api.request<{
    sites: Array<{
      name: string;
      documentCount: number;
      chunkCount: number;
      publicKey: string;
      embedder: { id: string } | null;
    }>;
  }>('GET', '/api/v1/sites');
  if (sites.length === 0) {
    process.stdout.write(
      'no sites yet: `npm run rag -- ingest <folder> --site <name>` creates one\n',
    );
    return 0;
  }
  const rows = sites.map((s) => [
    s.name,
    String(s.documentCount),
    String(s.chunkCount),
    s.embedder?.id ?? '-',
    s.publicKey,
  ]);
  const header = ['site', 'documents', 'chunks', 'embedder', 'public key'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) {
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}\n`);
  }
  return 0;
}

runCli(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof ApiError)
      process.stderr.write(`rag: ${error.message}\n`);
    else process.stderr.write(`rag: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
