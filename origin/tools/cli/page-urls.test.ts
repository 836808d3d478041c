import { describe, expect, it } from 'vitest';
import { pageUrl } from './page-urls.js';

describe('pageUrl', () => {
  const base = 'https://docs.example.com/guide';

  it('drops .md and index.md the way static-site generators publish them', () => {
    expect(pageUrl(base, 'helpers/jwt.md', 'clean')).toBe(
      'https://docs.example.com/guide/helpers/jwt',
    );
    expect(pageUrl(base, 'helpers/index.md', 'clean')).toBe(
      'https://docs.example.com/guide/helpers/',
    );
    expect(pageUrl(base, 'index.md', 'clean')).toBe('https://docs.example.com/guide/');
  });

  it('can keep or rename the extension', () => {
    expect(pageUrl(base, 'a/b.md', 'html')).toBe('https://docs.example.com/guide/a/b.html');
    expect(pageUrl(base, 'a/b.md', 'file')).toBe('https://docs.example.com/guide/a/b.md');
  });

  it('encodes each segment, so a file name cannot leave the base', () => {
    expect(pageUrl(base, 'a/x?y#z.md', 'clean')).toBe('https://docs.example.com/guide/a/x%3Fy%23z');
  });

  it('refuses a base that is not http(s)', () => {
    expect(() => pageUrl('javascript:alert(1)', 'a.md', 'clean')).toThrow(/http/);
  });
});
