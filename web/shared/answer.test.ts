import { parseHTML } from 'linkedom';
import { describe, expect, it } from 'vitest';
import { handoffHref, maker, sourceLabel, sourcesList } from './answer.js';

const { document } = parseHTML('<!doctype html><html><body></body></html>');
const make = maker(document as unknown as Document);

describe('sources around an answer', () => {
  it('labels a source "Title › Heading", without repeating the title', () => {
    expect(
      sourceLabel({ n: 1, title: 'Guide', url: null, headingPath: ['Guide', 'Backups'] }),
    ).toBe('Guide › Backups');
    expect(sourceLabel({ n: 1, title: 'Guide', url: null, headingPath: ['Guide'] })).toBe('Guide');
    expect(sourceLabel({ n: 2, title: '', url: 'https://a.example/x', headingPath: [] })).toBe(
      'https://a.example/x',
    );
  });

  it('lists only the cited sources, links only http(s) URLs, and keeps the excerpt behind a summary', () => {
    const list = sourcesList(
      make,
      [
        { n: 1, title: 'A', url: 'https://a.example/', snippet: 'first' },
        { n: 2, title: 'B', url: 'javascript:alert(1)', snippet: 'second' },
        { n: 3, title: 'C', url: 'https://c.example/' },
      ],
      [2, 1],
      'fr',
    )!;
    expect(list.getAttribute('aria-label')).toBe('Sources');
    const items = [...list.querySelectorAll('li')];
    expect(items.map((li) => li.getAttribute('value'))).toEqual(['1', '2']);
    expect(items[0]!.querySelector('a')!.getAttribute('href')).toBe('https://a.example/');
    expect(items[1]!.querySelector('a')).toBeNull();
    expect(items[0]!.querySelector('summary')!.textContent).toBe('Extrait');
    expect(items[0]!.querySelector('details p')!.textContent).toBe('first');
    expect(sourcesList(make, [{ n: 1, title: 'A', url: null }], [], 'en')).toBeNull();
  });
});

describe('handoffHref', () => {
  it('prefills the question in a mailto: or https: link, and refuses anything else', () => {
    expect(handoffHref('mailto:help@x.example', 'How & why?')).toBe(
      'mailto:help@x.example?subject=How%20%26%20why%3F&body=How%20%26%20why%3F',
    );
    const https = new URL(handoffHref('https://x.example/contact?from=chat', 'Où ?')!);
    expect(https.searchParams.get('from')).toBe('chat');
    expect(https.searchParams.get('question')).toBe('Où ?');
    for (const bad of ['javascript:alert(1)', 'http://x.example', 'not a url', null, '']) {
      expect(handoffHref(bad, 'q')).toBeNull();
    }
  });
});
