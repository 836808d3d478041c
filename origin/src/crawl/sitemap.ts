import { gunzipSync } from 'node:zlib';
import { parseHTML } from 'linkedom';

/** One `<url>` of a sitemap. */
export interface SitemapEntry {
  url: string;
  lastmod: string | null;
}

/** A parsed sitemap: pages, or (for a sitemap index) more sitemaps. */
export interface ParsedSitemap {
  pages: SitemapEntry[];
  sitemaps: string[];
}

/** Largest uncompressed sitemap (the protocol's own limit is 50 MB). */
export const MAX_SITEMAP_BYTES = 50 * 1024 * 1024;

interface XmlNode {
  textContent: string | null;
  querySelector(s: string): XmlNode | null;
  querySelectorAll(s: string): ArrayLike<XmlNode>;
}

/** Unzips a gzip body (by its magic bytes, whatever the name or type says), within the bound. */
export function sitemapText(body: Uint8Array): string {
  const bytes =
    body[0] === 0x1f && body[1] === 0x8b
      ? gunzipSync(body, { maxOutputLength: MAX_SITEMAP_BYTES })
      : body;
  return new TextDecoder('utf-8').decode(bytes);
}

/**
 * Reads a sitemap or a sitemap index (sitemaps.org protocol). Unknown elements are ignored;
 * a body that is neither gives nothing.
 */
export function parseSitemap(xml: string): ParsedSitemap {
  const parsed = new (parseHTML('').DOMParser)().parseFromString(
    xml,
    'text/xml',
  ) as unknown as XmlNode;
  const text = (node: XmlNode, name: string) =>
    node.querySelector(name)?.textContent?.trim() || null;
  const pages: SitemapEntry[] = [];
  for (const node of Array.from(parsed.querySelectorAll('url'))) {
    const loc = text(node, 'loc');
    if (loc !== null) pages.push({ url: loc, lastmod: text(node, 'lastmod') });
  }
  const sitemaps: string[] = [];
  for (const node of Array.from(parsed.querySelectorAll('sitemap'))) {
    const loc = text(node, 'loc');
    if (loc !== null) sitemaps.push(loc);
  }
  return { pages, sitemaps };
}
