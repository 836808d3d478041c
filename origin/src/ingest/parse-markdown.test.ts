import { describe, expect, it } from 'vitest';
import { parseMarkdown } from './parse-markdown.js';

describe('parseMarkdown', () => {
  it('turns ATX headings into heading blocks, closing hashes dropped', () => {
    const { blocks } = parseMarkdown('# One\n\ntext\n\n### Three ###\n#nospace is text');
    expect(blocks).toEqual([
      { kind: 'heading', level: 1, text: 'One' },
      { kind: 'text', text: 'text' },
      { kind: 'heading', level: 3, text: 'Three' },
      { kind: 'text', text: '#nospace is text' },
    ]);
  });

  it('turns setext underlines into H1 and H2, and a lone --- into a break', () => {
    const { blocks } = parseMarkdown('Big Title\n=========\n\nSmaller\n---\nbody\n\n---\n\nafter');
    expect(blocks).toEqual([
      { kind: 'heading', level: 1, text: 'Big Title' },
      { kind: 'heading', level: 2, text: 'Smaller' },
      { kind: 'text', text: 'body' },
      { kind: 'text', text: 'after' },
    ]);
  });

  it('keeps fenced code whole, and a # inside it is not a heading', () => {
    const md =
      'Intro\n\n```bash\n# install\nnpm i\n\n  npm test\n```\n\n~~~\n## also code\n~~~\nend';
    expect(parseMarkdown(md).blocks).toEqual([
      { kind: 'text', text: 'Intro' },
      { kind: 'code', text: '# install\nnpm i\n\n  npm test', lang: 'bash' },
      { kind: 'code', text: '## also code' },
      { kind: 'text', text: 'end' },
    ]);
  });

  it("keeps a fence's language, the first word of its info string", () => {
    const md = '```ts twoslash\na\n```\n\n```js [Deno]\nb\n```\n\n```{bad lang}\nc\n```';
    expect(parseMarkdown(md).blocks).toEqual([
      { kind: 'code', text: 'a', lang: 'ts' },
      { kind: 'code', text: 'b', lang: 'js' },
      { kind: 'code', text: 'c' },
    ]);
  });

  it('stores a Twoslash sample as its page shows it', () => {
    const md = [
      '```ts twoslash',
      "import { Hono } from 'hono'",
      '// ---cut---',
      '// @errors: 2304',
      'const body = await c.req.parseBody()',
      '//    ^?',
      '// ---cut-start---',
      'declare const x: number',
      '// ---cut-end---',
      'body.x',
      '// ---cut-after---',
      'export {}',
      '```',
      '',
      '```ts',
      '// ---cut---',
      'kept',
      '```',
    ].join('\n');
    expect(parseMarkdown(md).blocks).toEqual([
      { kind: 'code', text: 'const body = await c.req.parseBody()\nbody.x', lang: 'ts' },
      { kind: 'code', text: '// ---cut---\nkept', lang: 'ts' },
    ]);
  });

  it("reads admonition containers' fences as block boundaries, keeping only their titles", () => {
    const md = 'Intro\n::: info\nIt works on 18.\n:::\n\n:::warning Mind the gap\nBody\n:::';
    expect(parseMarkdown(md).blocks).toEqual([
      { kind: 'text', text: 'Intro' },
      { kind: 'text', text: 'It works on 18.' },
      { kind: 'text', text: 'Mind the gap' },
      { kind: 'text', text: 'Body' },
    ]);
  });

  it('runs an unclosed fence to the end of the document', () => {
    expect(parseMarkdown('```\n# a\nb').blocks).toEqual([{ kind: 'code', text: '# a\nb' }]);
  });

  it('drops front matter and takes its title', () => {
    const md = '---\ntitle: "Deploying on a VPS"\ntags: [ops]\n---\n# Other H1\n\nBody.';
    const doc = parseMarkdown(md);
    expect(doc.title).toBe('Deploying on a VPS');
    expect(doc.blocks[0]).toEqual({ kind: 'heading', level: 1, text: 'Other H1' });
    expect(JSON.stringify(doc.blocks)).not.toContain('tags');
  });

  it('takes the first H1 as the title when there is no front matter title', () => {
    expect(parseMarkdown('## Sub\n\n# Main\n\n# Second').title).toBe('Main');
    expect(parseMarkdown('just text').title).toBeNull();
  });

  it('splits paragraphs on blank lines and keeps list items together, one per line', () => {
    const md = 'First line\nwraps here.\n\n- apples\n- pears\n  and plums\n1. one\n\nLast.';
    expect(parseMarkdown(md).blocks).toEqual([
      { kind: 'text', text: 'First line wraps here.' },
      { kind: 'text', text: '- apples\n- pears and plums\n1. one' },
      { kind: 'text', text: 'Last.' },
    ]);
  });

  it('strips inline syntax but keeps the words', () => {
    const md =
      'A **bold** and *em* and _under_ word, ~~gone~~, [a link](https://x.test/a_(b)) and ' +
      '![a diagram](d.png), `snake_case *x*`, <span>tag</span>, 5 \\* 3 &amp; my_var_name.';
    expect(parseMarkdown(md).blocks).toEqual([
      {
        kind: 'text',
        text: 'A bold and em and under word, gone, a link and a diagram, snake_case *x*, tag, 5 * 3 & my_var_name.',
      },
    ]);
  });

  it('drops link definitions, table delimiter rows and blockquote markers', () => {
    const md = '> quoted\n> text\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n\n[ref]: https://x.test';
    expect(parseMarkdown(md).blocks).toEqual([
      { kind: 'text', text: 'quoted text' },
      { kind: 'text', text: '| a | b |\n| 1 | 2 |' },
    ]);
  });

  it('handles CRLF line endings', () => {
    expect(parseMarkdown('# T\r\n\r\nx\r\ny').blocks).toEqual([
      { kind: 'heading', level: 1, text: 'T' },
      { kind: 'text', text: 'x y' },
    ]);
  });

  it('stays linear on unclosed markers repeated through a huge paragraph', () => {
    const started = performance.now();
    for (const marker of ['*a ', '[', '`a ', '<!-- ', '_a ', '~~a ', '[^']) {
      parseMarkdown(marker.repeat(100_000));
    }
    expect(performance.now() - started).toBeLessThan(10_000); // quadratic took minutes
  });
});
