/** Query parameters that only track a visit: the same page with or without them is one page. */
const TRACKING =
  /^(utm_[a-z_]+|gclid|fbclid|msclkid|dclid|mc_cid|mc_eid|_ga|_gl|yclid|igshid|ref_src)$/i;

/**
 * The one spelling of a page's URL: no fragment, no tracking parameters, no default port, the
 * remaining parameters in their order. Null for anything but http(s).
 */
export function canonicalUrl(value: string, base?: string): string | null {
  let url: URL;
  try {
    url = base === undefined ? new URL(value) : new URL(value, base);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.hash = '';
  url.username = '';
  url.password = '';
  for (const name of [...url.searchParams.keys()]) {
    if (TRACKING.test(name)) url.searchParams.delete(name);
  }
  if ([...url.searchParams.keys()].length === 0) url.search = '';
  return url.href;
}

/** A glob over a URL's path and query: `*` matches anything, everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** Which URLs a source takes: same origin, under the prefix, included and not excluded. */
export interface UrlScope {
  origin: string;
  pathPrefix: string;
  include: readonly string[];
  exclude: readonly string[];
}

/** True when `url` is inside the scope. */
export function inScope(url: string, scope: UrlScope): boolean {
  const parsed = new URL(url);
  if (parsed.origin !== scope.origin) return false;
  if (!parsed.pathname.startsWith(scope.pathPrefix)) return false;
  const path = parsed.pathname + parsed.search;
  if (scope.include.length > 0 && !scope.include.some((g) => globToRegExp(g).test(path))) {
    return false;
  }
  return !scope.exclude.some((g) => globToRegExp(g).test(path));
}
