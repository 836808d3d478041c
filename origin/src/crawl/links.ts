import { parseHTML } from 'linkedom';
import { canonicalUrl } from './urls.js';

/** The links of a page and the canonical URL it declares. */
export interface PageLinks {
  /** `<link rel="canonical">`, resolved; null when absent or not http(s). */
  canonical: string | null;
  /** `<a href>` targets, canonicalized, deduplicated, in document order. */
  links: string[];
}

/** Most links one page may feed into the crawl: a page of a million links costs no more. */
const MAX_LINKS_PER_PAGE = 2_000;

interface LinkElement {
  getAttribute(name: string): string | null;
}

/**
 * Reads the links of an HTML page, resolved against `pageUrl` (or a `<base href>`). Links marked
 * `rel="nofollow"` are not followed.
 */
export function extractLinks(html: string, pageUrl: string): PageLinks {
  const { document } = parseHTML(html) as unknown as {
    document: {
      querySelector(s: string): LinkElement | null;
      querySelectorAll(s: string): ArrayLike<LinkElement>;
    };
  };
  const baseHref = document.querySelector('base[href]')?.getAttribute('href');
  const base = (baseHref && canonicalUrl(baseHref, pageUrl)) || pageUrl;
  const canonicalHref = document.querySelector('link[rel="canonical"][href]')?.getAttribute('href');
  const canonical = canonicalHref ? canonicalUrl(canonicalHref, base) : null;
  const links = new Set<string>();
  for (const a of Array.from(document.querySelectorAll('a[href]'))) {
    if (/\bnofollow\b/i.test(a.getAttribute('rel') ?? '')) continue;
    const url = canonicalUrl(a.getAttribute('href') ?? '', base);
    if (url !== null) links.add(url);
    if (links.size >= MAX_LINKS_PER_PAGE) break;
  }
  return { canonical, links: [...links] };
}
