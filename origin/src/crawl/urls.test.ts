import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extractLinks } from './links.js';
import { parseSitemap, sitemapText } from './sitemap.js';
import { canonicalUrl, inScope } from './urls.js';

describe('crawl URLs, links and sitemaps', () => {
  it('canonicalizes: no fragment, no tracking parameters, no credentials, http(s) only', () => {
    expect(canonicalUrl('https://A.test:443/docs/x?utm_source=n&b=2&gclid=9#part')).toBe(
      'https://a.test/docs/x?b=2',
    );
    expect(canonicalUrl('../y?utm_medium=m', 'https://a.test/docs/x/')).toBe(
      'https://a.test/docs/y',
    );
    expect(canonicalUrl('https://u:p@a.test/')).toBe('https://a.test/');
    expect(canonicalUrl('mailto:a@b.test')).toBeNull();
    expect(canonicalUrl('javascript:alert(1)')).toBeNull();
  });

  it('scopes by origin, path prefix, include and exclude globs', () => {
    const scope = {
      origin: 'https://a.test',
      pathPrefix: '/docs/',
      include: [],
      exclude: ['/docs/old/*'],
    };
    expect(inScope('https://a.test/docs/x', scope)).toBe(true);
    expect(inScope('https://a.test/blog/x', scope)).toBe(false);
    expect(inScope('https://b.test/docs/x', scope)).toBe(false);
    expect(inScope('https://a.test/docs/old/x', scope)).toBe(false);
    expect(inScope('https://a.test/docs/x', { ...scope, include: ['*/guide*'] })).toBe(false);
    expect(inScope('https://a.test/docs/guide-1', { ...scope, include: ['*/guide*'] })).toBe(true);
  });

  it('extracts followable links and the canonical URL of a page', () => {
    const html = `<html><head><link rel="canonical" href="/docs/a"></head><body>
      <a href="b#x">b</a><a href="/docs/c?utm_campaign=z">c</a><a href="b">again</a>
      <a rel="nofollow" href="/secret">no</a><a href="mailto:x@y.z">mail</a></body></html>`;
    expect(extractLinks(html, 'https://a.test/docs/a?ref=1')).toEqual({
      canonical: 'https://a.test/docs/a',
      links: ['https://a.test/docs/b', 'https://a.test/docs/c'],
    });
  });

  it('reads sitemaps, sitemap indexes and gzipped sitemaps', () => {
    const urlset =
      '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://a.test/x?a=1&amp;b=2</loc><lastmod>2026-01-02</lastmod></url><url><loc>https://a.test/y</loc></url></urlset>';
    expect(parseSitemap(sitemapText(gzipSync(urlset)))).toEqual({
      pages: [
        { url: 'https://a.test/x?a=1&b=2', lastmod: '2026-01-02' },
        { url: 'https://a.test/y', lastmod: null },
      ],
      sitemaps: [],
    });
    const index =
      '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://a.test/s1.xml.gz</loc></sitemap></sitemapindex>';
    expect(parseSitemap(sitemapText(Buffer.from(index)))).toEqual({
      pages: [],
      sitemaps: ['https://a.test/s1.xml.gz'],
    });
    expect(parseSitemap('not xml at all')).toEqual({ pages: [], sitemaps: [] });
  });
});
