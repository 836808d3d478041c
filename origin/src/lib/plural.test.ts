import { describe, expect, it } from 'vitest';
import { plural } from './plural.js';

describe('plural', () => {
  it('says "1 document" and "0 documents", and takes an irregular plural', () => {
    expect(plural(1, 'document')).toBe('1 document');
    expect(plural(0, 'document')).toBe('0 documents');
    expect(plural(12, 'chunk')).toBe('12 chunks');
    expect(plural(1, 'query', 'queries')).toBe('1 query');
    expect(plural(2, 'query', 'queries')).toBe('2 queries');
  });
});
