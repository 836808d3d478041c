/**
 * Seeded generators of hostile HTTP input for `fuzz.test.ts`: paths, query strings, headers and
 * bodies. Everything derives from one PRNG, so a seed reproduces a whole run exactly.
 */

/** mulberry32: small, fast and good enough to spread cases; the seed reproduces the run. */
export function prng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (max: number) => Math.floor(next() * max);
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]) => items[int(items.length)]!,
  };
}

export interface Rng {
  next(): number;
  /** An integer in [0, max). */
  int(max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/** Text that must only ever be stored or shown, never run: SQL, markup, traversal, odd unicode. */
export const HOSTILE_STRINGS = [
  "'; DROP TABLE chunks; --",
  '" OR 1=1 --',
  '$1',
  '\\',
  '%_%',
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '<script>alert(1)</script>',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: template injection text, sent as data
  '${process.env.ADMIN_TOKEN}',
  'null',
  '',
  ' ',
  '\u202e\u200b\ufeff',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 עברית 中文',
  '\ud800',
  '\udfff\ud800',
  'a\u0000b',
  '\u0001\u001f\u007f',
  'é'.repeat(600),
] as const;

/** Numbers at and past every limit a schema or a column may have. */
export const HOSTILE_NUMBERS = [
  0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53,
  -(2 ** 63),
  1e308,
  -1e308,
  5e-324,
] as const;

/** Number-like text for path ids and query values. */
export const HOSTILE_NUMERALS = [
  '0',
  '-1',
  '1.5',
  '1e309',
  '-1e309',
  '9223372036854775808',
  '99999999999999999999999999999',
  'NaN',
  'Infinity',
  '0x10',
  '1;DROP TABLE documents',
  '%20',
  '',
  '٣',
] as const;

export function randomString(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return rng.pick(HOSTILE_STRINGS);
    case 1: {
      const length = rng.pick([1, 10, 300, 5_000, 70_000]);
      return Array.from({ length: Math.min(length, 200) }, () =>
        String.fromCharCode(rng.int(0x3000)),
      )
        .join('')
        .repeat(Math.max(1, Math.floor(length / 200)));
    }
    case 2:
      return `${rng.pick(HOSTILE_STRINGS)}${rng.pick(HOSTILE_STRINGS)}`;
    case 3:
      return String(rng.pick(HOSTILE_NUMBERS));
    default:
      return `word-${rng.int(1000)}`;
  }
}

/** A random JSON value a few levels deep: every type, in every place a schema may not expect. */
export function randomJson(rng: Rng, depth = 0): unknown {
  const kind = depth >= 3 ? rng.int(5) : rng.int(7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick(HOSTILE_NUMBERS);
    case 3:
    case 4:
      return randomString(rng);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i -= 1)
        object[randomString(rng)] = randomJson(rng, depth + 1);
      return object;
    }
  }
}

/** JSON nested `levels` deep, built as text: serializing such an object would itself recurse. */
export function deepJson(levels: number, kind: 'array' | 'object', wrapKey?: string): string {
  const inner =
    kind === 'array'
      ? `${'['.repeat(levels)}${']'.repeat(levels)}`
      : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  return wrapKey === undefined ? inner : `{${JSON.stringify(wrapKey)}:${inner}}`;
}

/** JSON that `JSON.parse` refuses. */
export const MALFORMED_JSON = [
  '{',
  '{"a":}',
  '{"a":1,}',
  "{'a':1}",
  '[1,2',
  'NaN',
  '{"a":undefined}',
  '{"a":1}{"b":2}',
  '\u0000',
  '"unterminated',
  '{"a":"\u0001"}',
] as const;

/** Bytes that are not UTF-8, inside otherwise plausible JSON. */
export function invalidUtf8Json(field: string): Uint8Array {
  const head = new TextEncoder().encode(`{"${field}":"`);
  const bad = [0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0xf8, 0x88, 0x80, 0x80, 0x80];
  const tail = new TextEncoder().encode('"}');
  return new Uint8Array([...head, ...bad, ...tail]);
}

/** Content types that are wrong, malformed, or JSON in disguise. */
export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/json-patch+json',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=nope',
  'application/octet-stream',
  '*/*',
  ';;;',
  '',
] as const;

/** File names a client may send in a multipart upload, traversal and control characters included. */
export const UPLOAD_NAMES = [
  '../../etc/passwd',
  '../../etc/passwd.md',
  '..\\..\\x.txt',
  '/etc/shadow.txt',
  'C:\\Windows\\system.ini.txt',
  'a\u0000.txt',
  '.',
  '..',
  '',
  'x'.repeat(300),
  'notes.txt',
  'report.pdf',
  'image.png',
  'no-extension',
  '%2e%2e%2fsecret.md',
  'ü ñ 😀.md',
] as const;

/** Header values the Fetch API accepts (ByteStrings without CR, LF or NUL) that a server may not. */
export function headerSafe(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code === 0 || code === 10 || code === 13) continue;
    out += code > 0xff ? String.fromCharCode(code & 0xff || 0x3f) : ch;
  }
  return out;
}

/** Values for a header: plausible, empty, huge, control and Latin-1 characters, injections. */
export function randomHeaderValue(rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
      return '';
    case 1:
      return 'x'.repeat(rng.pick([256, 8_192, 65_536]));
    case 2:
      return '\u0001\u0002\u007f\u0080\u00ff\t';
    case 3:
      return headerSafe(rng.pick(HOSTILE_STRINGS));
    case 4:
      return String(rng.pick(HOSTILE_NUMERALS));
    default:
      return headerSafe(randomString(rng)).slice(0, 4_096);
  }
}

/** A path segment as a client may send it: raw percent-escapes are kept, the rest is escaped. */
export function hostileSegment(rng: Rng): string {
  const raw = [
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '..%2f..%2f',
    '%252e%252e',
    '%00',
    '%ZZ',
    '%E0%A4%A',
    '%C0%AE%C0%AE',
    '%ef%bf%bf',
  ];
  if (rng.chance(0.35)) return rng.pick(raw);
  const text = rng.chance(0.5) ? rng.pick(HOSTILE_STRINGS) : randomString(rng).slice(0, 3_000);
  return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '?')) || 'x';
}

/** A query string with odd keys and values: repeats, huge numbers, stray escapes. */
export function randomQuery(rng: Rng): string {
  const parts: string[] = [];
  for (let i = rng.int(4); i >= 0; i -= 1) {
    const key = rng.pick(['limit', 'before', 'k', 'q', 'site', '%', '', 'limit[]', '__proto__']);
    const value = rng.chance(0.5) ? rng.pick(HOSTILE_NUMERALS) : hostileSegment(rng);
    parts.push(rng.chance(0.1) ? key : `${key}=${value}`);
  }
  return `?${parts.join('&')}`;
}
