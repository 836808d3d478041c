import { parseHTML } from 'linkedom';
import { describe, expect, it } from 'vitest';
import { renderMarkdown, safeHref } from './markdown.js';

const { document } = parseHTML('<!doctype html><html><body></body></html>');
const SOURCES: Record<number, string> = {
  1: 'https://docs.example/paris',
  2: 'javascript:alert(1)',
};
const hrefOf = (n: number) => SOURCES[n] ?? null;

function render(text: string): HTMLElement {
  const root = document.createElement('div');
  root.appendChild(renderMarkdown(document as unknown as Document, text, hrefOf));
  return root;
}

describe('renderMarkdown', () => {
  it('shows raw HTML from the model as text: no element is created from it', () => {
    const root = render('Look <script>alert(1)</script> and <img src=x onerror=alert(1)> here');
    expect(root.querySelector('script')).toBeNull();
    expect(root.querySelector('img')).toBeNull();
    expect(root.textContent).toBe(
      'Look <script>alert(1)</script> and <img src=x onerror=alert(1)> here',
    );
  });

  it('renders paragraphs, bold, italic and inline code', () => {
    const root = render('First **bold** and *italic* and `x < y`.\n\nSecond _one_.');
    const paragraphs = root.querySelectorAll('p');
    expect(paragraphs).toHaveLength(2);
    expect(root.querySelector('strong')?.textContent).toBe('bold');
    expect([...root.querySelectorAll('em')].map((e) => e.textContent)).toEqual(['italic', 'one']);
    expect(root.querySelector('code')?.textContent).toBe('x < y');
  });

  it('renders fenced code blocks verbatim, markup and Markdown included', () => {
    const root = render('Try:\n```html\n<b>**not bold**</b>\n```\nDone.');
    expect(root.querySelector('pre code')?.textContent).toBe('<b>**not bold**</b>');
    expect(root.querySelector('b')).toBeNull();
    expect(root.querySelector('strong')).toBeNull();
  });

  it('keeps an unclosed fence (a stream still arriving) as code', () => {
    expect(render('```\nconst a = 1;').querySelector('pre code')?.textContent).toBe('const a = 1;');
  });

  it('renders bullet and numbered lists', () => {
    const root = render('Steps:\n1. one\n2. **two**\n\n- a\n- b');
    expect([...root.querySelectorAll('ol li')].map((li) => li.textContent)).toEqual(['one', 'two']);
    expect(root.querySelector('ol li strong')?.textContent).toBe('two');
    expect([...root.querySelectorAll('ul li')].map((li) => li.textContent)).toEqual(['a', 'b']);
  });

  it('links [n] to source n only when its URL is http(s)', () => {
    const root = render('Paris [1]. Unsafe [2]. Unknown [3].');
    const links = root.querySelectorAll('a');
    expect(links).toHaveLength(1);
    expect(links[0]!.getAttribute('href')).toBe('https://docs.example/paris');
    expect(links[0]!.getAttribute('rel')).toBe('noopener noreferrer');
    expect(links[0]!.textContent).toBe('[1]');
    expect(root.textContent).toBe('Paris [1]. Unsafe [2]. Unknown [3].');
  });

  it('makes Markdown links only of http(s) URLs', () => {
    const root = render('[ok](https://a.example/x) and [bad](javascript:alert(1))');
    const links = root.querySelectorAll('a');
    expect(links).toHaveLength(1);
    expect(links[0]!.getAttribute('href')).toBe('https://a.example/x');
    expect(root.textContent).toContain('[bad](javascript:alert(1))');
  });
});

describe('safeHref', () => {
  it('accepts absolute http(s) URLs only', () => {
    expect(safeHref('https://a.example/p?q=1')).toBe('https://a.example/p?q=1');
    expect(safeHref('http://a.example')).toBe('http://a.example/');
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', '/relative', ' ', null, 42]) {
      expect(safeHref(bad)).toBeNull();
    }
  });
});
