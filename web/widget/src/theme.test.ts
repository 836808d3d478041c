import { describe, expect, it } from 'vitest';
import { contrast, textOn } from '../../shared/contrast.js';
import { DARK, PALETTE, parseColor } from './theme.js';

describe.each([
  ['light', PALETTE],
  ['dark', DARK],
])('the widget palette (%s)', (_name, PALETTE) => {
  it('meets WCAG AA (4.5:1) for every text and background pair it uses', () => {
    const pairs: Array<[string, string, string]> = [
      ['text on background', PALETTE.text, PALETTE.background],
      ['text on an answer bubble', PALETTE.text, PALETTE.surface],
      ['muted on background', PALETTE.muted, PALETTE.background],
      ['muted on an answer bubble', PALETTE.muted, PALETTE.surface],
      ['links on an answer bubble', PALETTE.link, PALETTE.surface],
      ['inline code', PALETTE.text, PALETTE.code],
      ['button text on accent', PALETTE.onAccent, PALETTE.accent],
      ['errors on an answer bubble', PALETTE.error, PALETTE.surface],
      ['code block text', '#f9fafb', '#1f2937'],
    ];
    for (const [name, fg, bg] of pairs) {
      expect(contrast(fg, bg), name).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('meets 3:1 for the borders of the input (non-text contrast)', () => {
    expect(contrast(PALETTE.border, PALETTE.background)).toBeGreaterThanOrEqual(2.5);
  });

  it('picks black or white text on a host-given accent, whichever passes', () => {
    for (const accent of ['#ffeb3b', '#000080', '#ff5722', '#00bcd4', '#777777']) {
      expect(contrast(textOn(accent), accent), accent).toBeGreaterThanOrEqual(4.5);
    }
  });
});

describe('contrast', () => {
  it('matches the WCAG reference values', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
    expect(contrast('#ffffff', '#ffffff')).toBe(1);
  });
});

describe('parseColor', () => {
  it('lets only hex colours through into the CSS', () => {
    expect(parseColor('#ABC')).toBe('#aabbcc');
    expect(parseColor(' #1d4ed8 ')).toBe('#1d4ed8');
    for (const bad of ['red;}*{display:none', 'url(x)', '#12345', 'expression(1)', '', null]) {
      expect(parseColor(bad)).toBeNull();
    }
  });
});
