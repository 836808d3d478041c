import { describe, expect, it } from 'vitest';
import { parseText } from './parse-text.js';

describe('parseText', () => {
  it('splits paragraphs on blank lines and rejoins wrapped lines', () => {
    expect(parseText('One  line\nwrapped.\r\n\r\n \t\nTwo.\n').blocks).toEqual([
      { kind: 'text', text: 'One line wrapped.' },
      { kind: 'text', text: 'Two.' },
    ]);
  });

  it('keeps each list item on its own line', () => {
    expect(parseText('Shopping:\n- milk\n- bread\n  (wholemeal)\n2) eggs').blocks).toEqual([
      { kind: 'text', text: 'Shopping:\n- milk\n- bread (wholemeal)\n2) eggs' },
    ]);
  });

  it('has no title and no blocks for blank text', () => {
    expect(parseText(' \n\n ')).toEqual({ title: null, blocks: [] });
  });
});
