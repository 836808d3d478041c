import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorBody, ErrorCode } from './errors.js';
import { ChatStreamEvent, StreamErrorEvent } from './stream.js';

const DIR = dirname(fileURLToPath(import.meta.url));

describe('the contract module', () => {
  it('imports nothing but zod and its own files: it runs on Node, in workerd and in browsers', () => {
    const sources = readdirSync(DIR).filter(
      (name) => name.endsWith('.ts') && !name.includes('.test.'),
    );
    expect(sources.length).toBeGreaterThanOrEqual(5);
    for (const name of sources) {
      const text = readFileSync(join(DIR, name), 'utf8');
      const specifiers = [...text.matchAll(/\bfrom\s+'([^']+)'/g)].map((match) => match[1]!);
      for (const specifier of specifiers) {
        expect(
          specifier === 'zod' || /^\.\/[\w-]+\.js$/.test(specifier),
          `${name} imports ${specifier}`,
        ).toBe(true);
      }
      expect(text, name).not.toMatch(/\b(process|Buffer|require)\b|node:|cloudflare:/);
    }
  });

  it('keeps the routes file free of zod, so the edge imports it without a schema library', () => {
    expect(readFileSync(join(DIR, 'routes.ts'), 'utf8')).not.toMatch(/from\s+'/);
  });
});

describe('the error and event shapes', () => {
  it('take the one error shape and refuse anything else', () => {
    const body = { error: { code: 'not_found', message: 'no such site', requestId: 'r1' } };
    expect(ErrorBody.parse(body)).toEqual(body);
    expect(
      ErrorBody.safeParse({ error: { code: 'nope', message: '', requestId: 'r' } }).success,
    ).toBe(false);
    expect(ErrorBody.safeParse({ ...body, stack: 'at x' }).success).toBe(false);
    expect(ErrorCode.options).toContain('maintenance');
  });

  it('hold retry hints in milliseconds only: a wait in seconds is not an event', () => {
    const event = { code: 'maintenance', message: 'back soon', retryAfterMs: 30_000 };
    expect(StreamErrorEvent.parse(event)).toEqual(event);
    expect(
      StreamErrorEvent.safeParse({ code: 'maintenance', message: '', retryAfter: 30 }).success,
    ).toBe(false);
  });

  it('tell the events apart by name', () => {
    expect(ChatStreamEvent.safeParse({ event: 'token', data: { text: 'Hi' } }).success).toBe(true);
    expect(ChatStreamEvent.safeParse({ event: 'token', data: { sources: [] } }).success).toBe(
      false,
    );
    expect(ChatStreamEvent.safeParse({ event: 'ping', data: {} }).success).toBe(false);
  });
});
