import { AppError } from '../../src/errors.js';

/**
 * How a file's relative path becomes its page's path on the published site:
 * - `clean`: `guide/install.md` → `guide/install`, `guide/index.md` → `guide/` (VitePress,
 *   Docusaurus, MkDocs with directory URLs, Hugo);
 * - `html`: `guide/install.md` → `guide/install.html`, `guide/index.md` → `guide/`;
 * - `file`: the path as it is.
 */
export type UrlStyle = 'clean' | 'html' | 'file';

export const URL_STYLES: readonly UrlStyle[] = ['clean', 'html', 'file'];

/** The source-file extensions a site generator turns into pages. */
const PAGE_EXTENSION = /\.(?:md|markdown|mdx|html?)$/i;

/**
 * The public URL of the file at `relativePath` (with `/` separators) under `baseUrl`. Each path
 * segment is percent-encoded, so a file name can never change the host or climb above the base.
 *
 * @throws AppError `validation_failed` when `baseUrl` is not an http(s) URL.
 */
export function pageUrl(baseUrl: string, relativePath: string, style: UrlStyle): string {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new AppError('validation_failed', `--base-url: "${baseUrl}" is not a URL`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new AppError('validation_failed', '--base-url: must be an http(s) URL');
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  let path = relativePath;
  if (style !== 'file') {
    if (/(?:^|\/)index\.(?:md|markdown|mdx|html?)$/i.test(path)) path = path.replace(/[^/]+$/, '');
    else path = path.replace(PAGE_EXTENSION, style === 'html' ? '.html' : '');
  }
  const encoded = path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
  return new URL(encoded, base).href;
}
