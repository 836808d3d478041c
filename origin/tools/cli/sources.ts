import type { ApiClient } from './api-client.js';

/** A source as the API lists it (the fields the CLI prints). */
interface SourceView {
  id: number;
  kind: string;
  url: string;
  maxPages: number;
  intervalSeconds: number | null;
  status: {
    running: boolean;
    lastFinishedAt: string | null;
    lastStatus: string | null;
    lastError: string | null;
    lastStats: Record<string, number> | null;
    nextRunAt: string | null;
  };
}

interface SyncRun {
  sourceId: number;
  dryRun: boolean;
  stats: Record<string, number>;
  failures: Array<{ url: string; reason: string }>;
}

/** Options of `sources add`. */
export interface AddSourceOptions {
  sitemap?: string | undefined;
  crawl?: string | undefined;
  prefix?: string | undefined;
  include?: string[] | undefined;
  exclude?: string[] | undefined;
  maxPages?: string | undefined;
  header?: string | undefined;
  every?: string | undefined;
}

const sitePath = (site: string) => `/api/v1/sites/${encodeURIComponent(site)}`;
const out = (line: string) => process.stdout.write(`${line}\n`);

/** `sources add <site> --sitemap URL | --crawl URL [--prefix /docs/] ...` */
export async function addSource(
  api: ApiClient,
  site: string,
  o: AddSourceOptions,
): Promise<number> {
  if ((o.sitemap === undefined) === (o.crawl === undefined)) {
    process.stderr.write('usage: sources add <site> --sitemap <url> | --crawl <url> [options]\n');
    return 2;
  }
  let header: { name: string; value: string } | undefined;
  if (o.header !== undefined) {
    const colon = o.header.indexOf(':');
    if (colon <= 0) {
      process.stderr.write('--header takes "Name: value"\n');
      return 2;
    }
    header = { name: o.header.slice(0, colon).trim(), value: o.header.slice(colon + 1).trim() };
  }
  const { source } = await api.request<{ source: SourceView }>(
    'POST',
    `${sitePath(site)}/sources`,
    {
      sitemap: o.sitemap,
      url: o.crawl,
      pathPrefix: o.prefix,
      include: o.include,
      exclude: o.exclude,
      maxPages: o.maxPages === undefined ? undefined : Number(o.maxPages),
      header,
      intervalSeconds: o.every === undefined ? undefined : parseDuration(o.every),
    },
  );
  out(`added source ${source.id} (${source.kind} ${source.url}) to ${site}`);
  return 0;
}

/** `sources list <site>`: each source with the status of its last sync. */
export async function listSources(api: ApiClient, site: string): Promise<number> {
  const { sources } = await api.request<{ sources: SourceView[] }>(
    'GET',
    `${sitePath(site)}/sources`,
  );
  if (sources.length === 0) {
    out(`${site} has no web sources: \`rag sources add ${site} --sitemap <url>\` adds one`);
    return 0;
  }
  for (const s of sources) {
    const st = s.status;
    const stats = st.lastStats === null ? '' : ` — ${formatStats(st.lastStats)}`;
    out(
      `${s.id}  ${s.kind}  ${s.url}  (max ${s.maxPages} pages, ${s.intervalSeconds === null ? 'manual' : `every ${s.intervalSeconds} s`})`,
    );
    out(
      `    last run: ${st.running ? 'running now' : (st.lastFinishedAt ?? 'never')}${st.lastStatus === null ? '' : ` ${st.lastStatus}`}${stats}`,
    );
    if (st.lastError !== null) out(`    last error: ${st.lastError}`);
    if (st.nextRunAt !== null) out(`    next run: ${st.nextRunAt}`);
  }
  return 0;
}

/** `sources remove <site> <id>`: the source and its documents. */
export async function removeSource(api: ApiClient, site: string, id: string): Promise<number> {
  const { deleted } = await api.request<{ deleted: { documents: number } }>(
    'DELETE',
    `${sitePath(site)}/sources/${encodeURIComponent(id)}`,
  );
  out(`removed source ${id} and its ${deleted.documents} documents from ${site}`);
  return 0;
}

/** `sync <site> [--source id] [--dry-run]` */
export async function syncCommand(
  api: ApiClient,
  site: string,
  options: { source?: string | undefined; dryRun?: boolean | undefined },
): Promise<number> {
  const started = performance.now();
  const { runs } = await api.request<{ runs: SyncRun[] }>('POST', `${sitePath(site)}/sync`, {
    sourceId: options.source === undefined ? undefined : Number(options.source),
    dryRun: options.dryRun === true,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const run of runs) {
    out(`${run.dryRun ? 'dry run of ' : ''}source ${run.sourceId}: ${formatStats(run.stats)}`);
    for (const failure of run.failures) out(`    failed ${failure.url}: ${failure.reason}`);
  }
  out(`synced ${site} in ${seconds} s`);
  return runs.some((run) => run.stats.failed! > 0) ? 1 : 0;
}

function formatStats(stats: Record<string, number>): string {
  return ['seen', 'added', 'updated', 'unchanged', 'removed', 'failed']
    .map((key) => `${stats[key] ?? 0} ${key}`)
    .join(', ');
}

/** `90`, `90s`, `15m`, `6h`, `1d` → seconds (NaN for anything else, which the API refuses). */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (match === null) return Number.NaN;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
