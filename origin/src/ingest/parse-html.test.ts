import { describe, expect, it } from 'vitest';
import { parseHtml } from './parse-html.js';

const LONG =
  'PostgreSQL keeps the vectors next to the documents they came from, so one transaction ' +
  'replaces a document and all of its chunks, and readers never see half of an update. ';

const allText = (html: string) =>
  parseHtml(html)
    .blocks.map((b) => b.text)
    .join('\n');

describe('parseHtml', () => {
  it('drops scripts, styles and other non-text elements', () => {
    const html =
      '<html><head><style>p{color:red}</style><script>var secret = 1;</script></head><body>' +
      '<p>Visible</p><noscript>Enable JS</noscript><template><p>tpl</p></template>' +
      '<iframe src="x">frame</iframe><svg><text>svg text</text></svg><p hidden>hidden</p></body></html>';
    expect(allText(html)).toBe('Visible');
  });

  it('decodes entities and emits plain text, never markup', () => {
    const { blocks } = parseHtml('<p>5 &lt; 6 &amp;&amp; caf&eacute; &#x1F600; &nbsp;ok</p>');
    expect(blocks).toEqual([{ kind: 'text', text: '5 < 6 && café 😀 ok' }]);
  });

  it('lets an img with an onerror handler contribute no tag text, only its alt', () => {
    const text = allText(
      '<p>before <img src=x onerror=alert(1)> after <img src=y alt="a chart"></p>',
    );
    expect(text).toBe('before after a chart');
    expect(text).not.toMatch(/onerror|alert|<|>/);
  });

  it("keeps a code block's language as highlighters mark it", () => {
    const html =
      '<pre><code class="hljs language-TypeScript">let a = 1</code></pre>' +
      '<pre class="lang-sh">npm i</pre><pre data-lang="python">x = 1</pre><pre>plain</pre>';
    expect(parseHtml(html).blocks).toEqual([
      { kind: 'code', text: 'let a = 1', lang: 'typescript' },
      { kind: 'code', text: 'npm i', lang: 'sh' },
      { kind: 'code', text: 'x = 1', lang: 'python' },
      { kind: 'code', text: 'plain' },
    ]);
  });

  it('emits headings, code with its whitespace, list items and table rows in order', () => {
    const html =
      '<body><h1>Guide</h1><p>Intro <b>bold</b><br>next line</p><h3>Install</h3>' +
      '<pre><code>npm i\n  --save</code></pre><ul><li>one</li><li>two</li></ul>' +
      '<table><tr><th>Key</th><th>Value</th></tr><tr><td>a</td><td>1</td></tr></table></body>';
    expect(parseHtml(html).blocks).toEqual([
      { kind: 'heading', level: 1, text: 'Guide' },
      { kind: 'text', text: 'Intro bold\nnext line' },
      { kind: 'heading', level: 3, text: 'Install' },
      { kind: 'code', text: 'npm i\n  --save' },
      { kind: 'text', text: 'one' },
      { kind: 'text', text: 'two' },
      { kind: 'text', text: 'Key | Value' },
      { kind: 'text', text: 'a | 1' },
    ]);
  });

  it('takes the title from <title>, else from the first h1', () => {
    expect(parseHtml('<title> A &amp; B </title><h1>H</h1>').title).toBe('A & B');
    expect(parseHtml('<div><h1>First <em>one</em></h1><h1>Second</h1></div>').title).toBe(
      'First one',
    );
    expect(parseHtml('<p>none</p>').title).toBeNull();
  });

  it('reads the article with Readability when the page is one, dropping the chrome', () => {
    const html =
      '<html><head><title>Storage</title></head><body>' +
      '<div class="sidebar"><a href="/a">Popular post</a> <a href="/b">Another post</a></div>' +
      `<div class="content"><h1>Storage</h1><p>${LONG.repeat(3)}</p><h2>Backups</h2>` +
      `<p>${LONG.repeat(3)}</p></div><div class="comments">Comment spam here</div></body></html>`;
    const doc = parseHtml(html);
    const text = doc.blocks.map((b) => b.text).join('\n');
    expect(doc.title).toBe('Storage');
    expect(text).toContain('one transaction replaces a document');
    expect(doc.blocks).toContainEqual({ kind: 'heading', level: 2, text: 'Backups' });
    expect(text).not.toContain('Popular post');
    expect(text).not.toContain('Comment spam');
  });

  it('reads the whole body when the page is not an article', () => {
    const html =
      '<body><div class="sidebar"><a href="/a">Popular post</a></div><p>Short note.</p></body>';
    expect(allText(html)).toBe('Popular post\nShort note.');
  });

  it('drops nav, and header and footer outside the main content, when the page marks it', () => {
    const html =
      '<body><header>Site name</header><nav>Home About</nav><main><header><h1>Post</h1></header>' +
      '<nav>On this page</nav><p>Body text.</p></main><footer>© 2026</footer></body>';
    expect(parseHtml(html).blocks).toEqual([
      { kind: 'heading', level: 1, text: 'Post' },
      { kind: 'text', text: 'Body text.' },
    ]);
  });

  it('keeps header and footer when the page marks no main content', () => {
    expect(allText('<body><header>Top</header><p>Mid</p><footer>End</footer></body>')).toBe(
      'Top\nMid\nEnd',
    );
  });

  it('survives deeply nested markup, even when it reads like an article', () => {
    const depth = 20_000;
    const html = `<body>${'<div>'.repeat(depth)}<p>${LONG.repeat(4)}</p>${'</div>'.repeat(depth)}</body>`;
    expect(allText(html)).toBe(LONG.repeat(4).trim());
  });

  it('returns no blocks for an empty document', () => {
    expect(parseHtml('')).toEqual({ title: null, blocks: [] });
  });

  it('reads a page with tens of thousands of siblings in linear time', () => {
    const html = `<body>${'<p>word</p>'.repeat(50_000)}</body>`;
    const started = performance.now();
    expect(parseHtml(html).blocks).toHaveLength(50_000);
    expect(performance.now() - started).toBeLessThan(10_000); // indexing childNodes took minutes
  });
});
