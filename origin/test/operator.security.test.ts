import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminSessions } from '../src/admin/session.js';
import { isSignedOut, recordSignOut } from '../src/store/admin-signouts.js';
import { ADMIN_TOKEN, type Harness, startHarness, TEST_DB } from './harness.js';

const CONSOLE = { 'x-ragedge-console': '1', 'sec-fetch-site': 'same-origin' };

describe(`operator routes refuse anyone but the admin (${TEST_DB})`, () => {
  let h: Harness;
  let cookie: string;
  beforeAll(async () => {
    h = await startHarness();
    await h.createSite('docs');
    const signIn = await h.request('POST', '/admin/session', {
      token: null,
      json: { token: ADMIN_TOKEN },
      headers: CONSOLE,
    });
    expect(signIn.status).toBe(200);
    cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  });
  afterAll(async () => {
    await h?.close();
  });

  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/api/v1/sites/docs/questions'],
    ['GET', '/api/v1/sites/docs/questions?filter=downvoted'],
    ['GET', '/api/v1/sites/docs/insights?days=7'],
    ['GET', '/api/v1/sites/docs/webhook'],
    ['PATCH', '/api/v1/sites/docs', { settings: { handoffUrl: 'https://example.org/help' } }],
  ];
  for (const [method, path, json] of routes) {
    it(`${method} ${path}: 401 without token or session, 403 with a wrong token, 200 with either`, async () => {
      const missing = await h.request(method, path, { token: null, json });
      expect(missing.status).toBe(401);
      expect((await missing.json()).error.code).toBe('unauthorized');
      const wrong = await h.request(method, path, { token: `${ADMIN_TOKEN}x`, json });
      expect(wrong.status).toBe(403);
      const forged = await h.request(method, path, {
        token: null,
        json,
        headers: { cookie: `ragedge_admin=${Date.now() + 3_600_000}.abc.def`, ...CONSOLE },
      });
      expect(forged.status).toBe(401);
      expect((await h.request(method, path, { json })).status).toBe(200);
      const session = await h.request(method, path, {
        token: null,
        json,
        headers: { cookie, ...CONSOLE },
      });
      expect(session.status).toBe(200);
    });
  }

  it('feedback: 401 without the site key, 403 from an origin the site does not allow', async () => {
    const path = '/api/v1/sites/docs/messages/1/feedback';
    const noKey = await h.request('POST', path, { token: null, json: { rating: 'up' } });
    expect(noKey.status).toBe(401);
    const evil = await h.request('POST', path, {
      token: null,
      json: { rating: 'up', token: 'x' },
      headers: { origin: 'https://evil.example', 'x-site-key': 'pk_whatever' },
    });
    expect(evil.status).toBe(403);
  });

  it('signs in only with the admin token, from the console, into an HttpOnly SameSite=Strict cookie', async () => {
    const wrong = await h.request('POST', '/admin/session', {
      token: null,
      json: { token: 'guess' },
      headers: CONSOLE,
    });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const crossSite = await h.request('POST', '/admin/session', {
      token: null,
      json: { token: ADMIN_TOKEN },
      headers: { 'x-ragedge-console': '1', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    const noHeader = await h.request('POST', '/admin/session', {
      token: null,
      json: { token: ADMIN_TOKEN },
    });
    expect(noHeader.status).toBe(403);
    const ok = await h.request('POST', '/admin/session', {
      token: null,
      json: { token: ADMIN_TOKEN },
      headers: CONSOLE,
    });
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^ragedge_admin=[\w.-]+;/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).toMatch(/Expires=/);
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const body = await ok.json();
    expect(JSON.stringify(body)).not.toContain(ADMIN_TOKEN);
    expect(new Date(body.session.expiresAt).getTime()).toBeGreaterThan(Date.now());
  });

  it('refuses a cookie-borne change without the console header or from another site', async () => {
    const json = { title: 'Renamed' };
    const bare = await h.request('PATCH', '/api/v1/sites/docs', {
      token: null,
      json,
      headers: { cookie },
    });
    expect(bare.status).toBe(403);
    const crossSite = await h.request('PATCH', '/api/v1/sites/docs', {
      token: null,
      json,
      headers: { cookie, 'x-ragedge-console': '1', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    const site = await (await h.request('GET', '/api/v1/sites/docs')).json();
    expect(site.site.title).not.toBe('Renamed');
  });

  it('expires sessions, and signing out ends one', async () => {
    const past = new AdminSessions(ADMIN_TOKEN, { ttlMs: 1000, now: () => Date.now() - 5000 });
    const expired = `ragedge_admin=${past.issue().value}`;
    const stale = await h.request('GET', '/api/v1/sites/docs/questions', {
      token: null,
      headers: { cookie: expired },
    });
    expect(stale.status).toBe(401);
    const signIn = await h.request('POST', '/admin/session', {
      token: null,
      json: { token: ADMIN_TOKEN },
      headers: CONSOLE,
    });
    const mine = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const live = await h.request('GET', '/admin/session', {
      token: null,
      headers: { cookie: mine },
    });
    expect((await live.json()).session.expiresAt).toEqual(expect.any(String));
    const out = await h.request('DELETE', '/admin/session', {
      token: null,
      headers: { cookie: mine, ...CONSOLE },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/ragedge_admin=;/);
    const after = await h.request('GET', '/api/v1/sites/docs/questions', {
      token: null,
      headers: { cookie: mine },
    });
    expect(after.status).toBe(401);
    const gone = await h.request('GET', '/admin/session', {
      token: null,
      headers: { cookie: mine },
    });
    expect(await gone.json()).toEqual({ session: null });
  });

  it('signing out on one origin ends the session on every origin sharing the database', async () => {
    // Another origin: its own sessions object (nothing of this one's memory), the same database.
    const pool = h.services.db.pool;
    const elsewhere = new AdminSessions(ADMIN_TOKEN, {
      ttlMs: 3_600_000,
      signOuts: {
        isSignedOut: (hash) => isSignedOut(pool, hash),
        recordSignOut: (hash, expires) => recordSignOut(pool, hash, expires),
      },
    });
    const signIn = await h.request('POST', '/admin/session', {
      token: null,
      json: { token: ADMIN_TOKEN },
      headers: CONSOLE,
    });
    const value = signIn.headers.get('set-cookie')!.split(';')[0]!.split('=')[1]!;
    expect(await elsewhere.verify(value)).toBe(true);
    const out = await h.request('DELETE', '/admin/session', {
      token: null,
      headers: { cookie: `ragedge_admin=${value}`, ...CONSOLE },
    });
    expect(out.status).toBe(204);
    expect(await elsewhere.verify(value)).toBe(false);
    // Only a hash is kept, and only until the session would have expired.
    const { rows } = await pool.query('select session_hash, expires_at from admin_signouts');
    expect(JSON.stringify(rows)).not.toContain(value);
    expect(rows.every((row) => row.expires_at.getTime() > Date.now())).toBe(true);
  });

  it('limits sign-in attempts per client', async () => {
    let status = 0;
    for (let i = 0; i < 320 && status !== 429; i += 1) {
      const response = await h.request('POST', '/admin/session', {
        token: null,
        json: { token: `guess-${i}` },
        headers: CONSOLE,
      });
      status = response.status;
    }
    expect(status).toBe(429);
  });

  it('limits votes per client like chat: 429 with Retry-After once the budget is spent', async () => {
    const key = (await (await h.request('GET', '/api/v1/sites/docs')).json()).site.publicKey;
    let response: Awaited<ReturnType<Harness['request']>> | undefined;
    for (let i = 0; i < 320; i += 1) {
      response = await h.request('POST', '/api/v1/sites/docs/messages/1/feedback', {
        token: null,
        json: { rating: 'down', token: 'not-the-token' },
        headers: { 'x-site-key': key },
      });
      if (response.status !== 403) break;
    }
    expect(response!.status).toBe(429);
    expect(Number(response!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await response!.json()).error.code).toBe('rate_limited');
  });
});
