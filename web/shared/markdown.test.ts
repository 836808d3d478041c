import { parseHTML } from 'linkedom';
import { describe, expect, it } from 'vitest';
import type { Source } from './chat.js';
import { answerLinks, renderMarkdown, safeHref } from './markdown.js';

const { document } = parseHTML('<!doctype html><html><body></body></html>');
const SOURCES: Source[] = [
  { n: 1, title: 'Paris', url: 'https://docs.example/paris' },
  { n: 2, title: 'Bad', url: 'javascript:alert(1)' },
  { n: 3, title: 'Lyon', url: 'https://docs.example/lyon' },
  { n: 4, title: 'No URL', url: null },
];

function render(text: string, cited: number[] | null = [1, 2, 4]): HTMLElement {
  const root = document.createElement('div');
  root.appendChild(
    renderMarkdown(document as unknown as Document, text, answerLinks(SOURCES, cited)),
  );
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

  it('links a cited [n] to its source only when its URL is http(s), and drops uncited markers', () => {
    const root = render('Paris [1]. Unsafe [2]. Plain [4]. Uncited [3]. Unknown [9].');
    const links = root.querySelectorAll('a');
    expect(links).toHaveLength(1);
    expect(links[0]!.getAttribute('href')).toBe('https://docs.example/paris');
    expect(links[0]!.getAttribute('rel')).toBe('noopener noreferrer');
    expect(links[0]!.textContent).toBe('[1]');
    expect(root.querySelectorAll('.cite')).toHaveLength(3);
    expect(root.textContent).toBe('Paris [1]. Unsafe [2]. Plain [4]. Uncited . Unknown .');
  });

  it('shows markers of listed sources as plain text while the answer streams', () => {
    const root = render('Paris [1] and [3], not [9].', null);
    expect(root.querySelectorAll('a')).toHaveLength(0);
    expect([...root.querySelectorAll('.cite')].map((c) => c.textContent)).toEqual(['[1]', '[3]']);
  });

  it('makes a Markdown link only when it points at a cited source, else shows its text', () => {
    const root = render(
      'See [the guide](https://docs.example/paris), [reset here](https://evil.example/phish), [lyon](https://docs.example/lyon) and [bad](javascript:alert(1))',
    );
    const links = root.querySelectorAll('a');
    expect(links).toHaveLength(1);
    expect(links[0]!.getAttribute('href')).toBe('https://docs.example/paris');
    expect(root.textContent).not.toContain('evil.example');
    expect(root.textContent).toContain('reset here');
    expect(root.textContent).not.toContain('javascript');
  });

  it('shows escaped brackets from quoted documents as text: no citation, no link', () => {
    const root = render('Quoted: see \\[1\\] and \\[the guide\\](https://evil.example/x), a\\_b.');
    expect(root.querySelectorAll('a')).toHaveLength(0);
    expect(root.querySelectorAll('.cite')).toHaveLength(0);
    expect(root.textContent).toBe('Quoted: see [1] and [the guide](https://evil.example/x), a_b.');
  });

  it('keeps underscores inside words as text', () => {
    const root = render('Set shared_buffers and work_mem_size, not _this_ names.');
    expect([...root.querySelectorAll('em')].map((e) => e.textContent)).toEqual(['this']);
    expect(root.querySelector('strong')).toBeNull();
    expect(root.textContent).toBe('Set shared_buffers and work_mem_size, not this names.');
  });

  it('renders a simple table with inline Markdown in its cells', () => {
    const root = render(
      'Sizes:\n\n| Setting | Value |\n|---|:--:|\n| `shared_buffers` | 1GB |\n| **RAM** | 4 GB [1] |\nAfter.',
    );
    expect([...root.querySelectorAll('th')].map((c) => c.textContent)).toEqual([
      'Setting',
      'Value',
    ]);
    const rows = [...root.querySelectorAll('tbody tr')].map((r) =>
      [...r.querySelectorAll('td')].map((c) => c.textContent),
    );
    expect(rows).toEqual([
      ['shared_buffers', '1GB'],
      ['RAM', '4 GB [1]'],
    ]);
    expect(root.querySelector('td code')?.textContent).toBe('shared_buffers');
    expect(root.querySelector('td a')?.getAttribute('href')).toBe('https://docs.example/paris');
    expect(root.querySelectorAll('p')).toHaveLength(2);
  });

  it('leaves pipes that are not a table as text', () => {
    const root = render('a | b | c\n| only one row |');
    expect(root.querySelector('table')).toBeNull();
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
