import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_BY_CODE } from '../src/errors.js';
import {
  CONTENT_TYPES,
  deepJson,
  HOSTILE_NUMERALS,
  headerSafe,
  hostileSegment,
  invalidUtf8Json,
  MALFORMED_JSON,
  prng,
  type Rng,
  randomHeaderValue,
  randomJson,
  randomQuery,
  randomString,
  UPLOAD_NAMES,
} from './fuzz-inputs.js';
import { ADMIN_TOKEN, type Harness, startHarness, TEST_DB } from './harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.FUZZ_CASES ?? 400);
const SITE = 'fuzz';
const ALLOWED_ORIGIN = 'https://allowed.example';
const REQUEST_TIMEOUT_MS = 30_000;

/** How a route is reached and whether a request to it can change sites, documents or chunks. */
interface RouteSpec {
  method: string;
  path: string;
  mutating: boolean;
  /** A valid JSON body, or `null` for routes that read none. */
  template: (() => Record<string, unknown>) | null;
}

const KNOWN_ROUTES: RouteSpec[] = [
  { method: 'GET', path: '/api/v1/health', mutating: false, template: null },
  {
    method: 'POST',
    path: '/api/v1/sites',
    mutating: true,
    template: () => ({ name: 'fuzz-new', title: 'New', allowedOrigins: [ALLOWED_ORIGIN] }),
  },
  { method: 'GET', path: '/api/v1/sites', mutating: false, template: null },
  { method: 'GET', path: '/api/v1/sites/:site', mutating: false, template: null },
  {
    method: 'PATCH',
    path: '/api/v1/sites/:site',
    mutating: true,
    template: () => ({
      title: 'Renamed',
      allowedOrigins: [ALLOWED_ORIGIN],
      rotatePublicKey: true,
      settings: { suggestions: ['How?'], handoffUrl: 'mailto:help@docs.example', lang: 'en' },
    }),
  },
  { method: 'GET', path: '/api/v1/sites/:site/config', mutating: false, template: null },
  { method: 'DELETE', path: '/api/v1/sites/:site', mutating: true, template: null },
  { method: 'POST', path: '/api/v1/sites/:site/reindex', mutating: true, template: null },
  {
    method: 'POST',
    path: '/api/v1/sites/:site/documents',
    mutating: true,
    template: () => ({
      title: 'Fuzzed',
      content: '# Fuzzed\n\nA document the fuzzer should never manage to store.',
      format: 'markdown',
      url: 'https://docs.example/fuzzed',
      metadata: { lang: 'en', rank: 1 },
    }),
  },
  { method: 'GET', path: '/api/v1/sites/:site/documents', mutating: false, template: null },
  {
    method: 'POST',
    path: '/api/v1/sites/:site/sources',
    mutating: true,
    // A private address that no setting allows: a source the fuzzer creates can never be fetched.
    template: () => ({
      sitemap: 'http://10.0.0.9/sitemap.xml',
      include: ['/docs/*'],
      maxPages: 10,
      header: { name: 'X-Token', value: 'fuzz' },
      intervalSeconds: 3600,
    }),
  },
  { method: 'GET', path: '/api/v1/sites/:site/sources', mutating: false, template: null },
  { method: 'DELETE', path: '/api/v1/sites/:site/sources/:id', mutating: true, template: null },
  {
    method: 'POST',
    path: '/api/v1/sites/:site/sync',
    mutating: true,
    template: () => ({ sourceId: 1, dryRun: true }),
  },
  { method: 'GET', path: '/api/v1/sites/:site/documents/:id', mutating: false, template: null },
  {
    method: 'DELETE',
    path: '/api/v1/sites/:site/documents/:id',
    mutating: true,
    template: null,
  },
  {
    method: 'POST',
    path: '/api/v1/sites/:site/search',
    mutating: false,
    template: () => ({
      query: 'install the server',
      k: 5,
      mode: 'hybrid',
      rerank: true,
      filter: { source: 'https://docs.example/install', metadata: { lang: 'en' } },
    }),
  },
  {
    method: 'POST',
    path: '/api/v1/sites/:site/chat',
    mutating: false,
    template: () => ({ message: 'How do I install the server?' }),
  },
];

/** Authorization headers, and whether the origin must take each as the admin token. */
const AUTH_VARIANTS: Array<{ header: string | undefined; admin: boolean }> = [
  { header: `Bearer ${ADMIN_TOKEN}`, admin: true },
  { header: `bearer ${ADMIN_TOKEN}`, admin: true },
  { header: `BEARER   ${ADMIN_TOKEN}  `, admin: true },
  { header: undefined, admin: false },
  { header: '', admin: false },
  { header: 'Bearer', admin: false },
  { header: 'Bearer ', admin: false },
  { header: `Bearer ${ADMIN_TOKEN}x`, admin: false },
  { header: `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, admin: false },
  { header: `Bearer ${ADMIN_TOKEN} extra`, admin: false },
  { header: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, admin: false },
  { header: `Token ${ADMIN_TOKEN}`, admin: false },
  { header: `Bearer ${'A'.repeat(65_536)}`, admin: false },
  { header: "Bearer ' OR '1'='1", admin: false },
  { header: 'Bearer \u00ff\u00fe\u0080', admin: false },
];

/** Text that must never reach a client: stacks, file paths, SQL and driver errors, the token. */
const LEAKS = [
  /\bat \S+ \(/,
  /\.[cm]?[jt]s:\d+/,
  /node_modules/,
  /\/work\//,
  /\/tmp\//,
  /SQLSTATE/i,
  /syntax error at or near/i,
  /violates .* constraint/i,
  /duplicate key value/i,
  /relation "/i,
  /invalid input syntax/i,
  /invalid byte sequence/i,
  /\bselect\b[^"]*\bfrom\b/i,
  /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/,
  new RegExp(ADMIN_TOKEN),
];

interface FuzzCase {
  label: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: RequestInit['body'];
  /** Sent with the admin token to a route that writes: it must be refused and change nothing. */
  adminWrite: boolean;
  mutating: boolean;
}

interface World {
  publicKey: string;
  documentIds: number[];
}

describe(`fuzzing every route (${TEST_DB}, seed ${SEED}, ${CASES} cases)`, () => {
  let h: Harness;
  const world: World = { publicKey: '', documentIds: [] };

  beforeAll(async () => {
    process.stdout.write(`fuzz: FUZZ_SEED=${SEED} FUZZ_CASES=${CASES} (TEST_DB=${TEST_DB})\n`);
    h = await startHarness({ env: { LOG_LEVEL: process.env.FUZZ_LOG_LEVEL ?? 'silent' } });
    const created = await h.request('POST', '/api/v1/sites', {
      json: { name: SITE, allowedOrigins: [ALLOWED_ORIGIN] },
    });
    world.publicKey = (await created.json()).site.publicKey;
    const response = await h.request('POST', `/api/v1/sites/${SITE}/documents`, {
      json: {
        documents: [
          {
            title: 'Install',
            content: '# Install\n\nInstall the server with the package manager.',
            url: 'https://docs.example/install',
            metadata: { lang: 'en' },
          },
          { title: 'Backups', content: 'Back up the database every night.', format: 'text' },
          {
            title: 'Tokens',
            content: '<h1>Tokens</h1><p>Keep the admin token secret.</p>',
            format: 'html',
          },
        ],
      },
    });
    expect(response.status).toBe(201);
    world.documentIds = (await response.json()).results.map(
      (r: { document: { id: number } }) => r.document.id,
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lists every route the app serves among the fuzzed ones', () => {
    const served = h.app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => `${route.method} ${route.path}`);
    const known = KNOWN_ROUTES.map((route) => `${route.method} ${route.path}`);
    expect(served).toEqual(expect.arrayContaining(known));
  });

  it('answers every hostile request below 500, in the error shape, leaking nothing and storing nothing', async () => {
    const before = await snapshot(h);
    const routes = fuzzedRoutes(h);
    const rng = prng(SEED);
    const statuses = new Map<number, number>();
    for (let n = 0; n < CASES; n += 1) {
      const fuzz = makeCase(rng, routes, world);
      const where = `case ${n} (FUZZ_SEED=${SEED}): ${fuzz.label}`;
      const response = await send(h, fuzz);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      await checkResponse(response, fuzz, where);
      if (fuzz.adminWrite)
        expect(await snapshot(h), `${where} changed stored data`).toEqual(before);
    }
    expect(await snapshot(h)).toEqual(before);
    const health = await h.request('GET', '/api/v1/health');
    expect(health.status).toBe(200);
    process.stdout.write(
      `fuzz: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`,
    );
    // A run that never got past validation, or never got in, would test little.
    expect([...statuses.keys()].some((status) => status < 300)).toBe(true);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
  }, 300_000);
});

/** The known routes plus any route added since, fuzzed with generic input. */
function fuzzedRoutes(h: Harness): RouteSpec[] {
  const known = new Set(KNOWN_ROUTES.map((route) => `${route.method} ${route.path}`));
  const extra = h.app.routes
    .filter((route) => route.method !== 'ALL' && !known.has(`${route.method} ${route.path}`))
    .map((route) => ({ method: route.method, path: route.path, mutating: false, template: null }));
  return [...KNOWN_ROUTES, ...extra];
}

/** Row counts and a checksum of every row of sites, documents and chunks. */
async function snapshot(h: Harness) {
  const { rows } = await h.services.db.pool.query(
    `select
       (select count(*)::int from sites) as sites,
       (select count(*)::int from documents) as documents,
       (select count(*)::int from chunks) as chunks,
       (select md5(coalesce(string_agg(s::text, '|' order by s.id), '')) from sites s) as sites_sum,
       (select md5(coalesce(string_agg(d::text, '|' order by d.id), '')) from documents d) as documents_sum,
       (select md5(coalesce(string_agg(c::text, '|' order by c.id), '')) from chunks c) as chunks_sum`,
  );
  return rows[0];
}

function makeCase(rng: Rng, routes: RouteSpec[], world: World): FuzzCase {
  if (rng.chance(0.1)) return unknownPathCase(rng);
  const route = rng.pick(routes);
  // Half the cases carry a valid admin token, so that they get past authentication to validation.
  const auth = rng.chance(0.5)
    ? rng.pick(AUTH_VARIANTS.filter((variant) => variant.admin))
    : rng.pick(AUTH_VARIANTS);
  const adminWrite = route.mutating && auth.admin;
  // A write with the admin token is made invalid on purpose, by its path or by its body.
  const hasParams = route.path.includes(':');
  const breakPath = adminWrite && hasParams && (route.template === null || rng.chance(0.5));
  const breakBody = adminWrite && !breakPath;
  const path = fillPath(rng, route.path, world, breakPath);
  const headers = randomHeaders(rng, world, auth.header);
  const method = rng.chance(0.05) ? rng.pick(['PUT', 'HEAD', 'OPTIONS', 'PROPFIND']) : route.method;
  const fuzz: FuzzCase = {
    label: `${method} ${path.slice(0, 120)} [auth ${(auth.header ?? 'none').slice(0, 20)}]`,
    method,
    path: rng.chance(0.15) ? `${path}${randomQuery(rng)}` : path,
    headers,
    // Another method reaches another handler (HEAD runs GET's): only the route's own method writes.
    adminWrite: adminWrite && method === route.method,
    mutating: route.mutating && method === route.method,
  };
  if (method === 'GET' || method === 'HEAD') return fuzz;
  const body = breakBody
    ? invalidBody(rng, route)
    : route.template === null
      ? rng.chance(0.5)
        ? { text: JSON.stringify(randomJson(rng)), type: 'application/json' }
        : undefined
      : anyBody(rng, route);
  if (body !== undefined) {
    fuzz.body = body.text;
    fuzz.label += ` body ${body.type ?? 'form'}: ${describeBody(body.text)}`;
    if (body.type !== undefined) headers['content-type'] = body.type;
  }
  return fuzz;
}

function unknownPathCase(rng: Rng): FuzzCase {
  const paths = [
    () => `/api/v1/${hostileSegment(rng)}`,
    () => `/api/v2/sites/${SITE}`,
    () => `/${'a/'.repeat(rng.pick([10, 1_000, 10_000]))}`,
    () => `/api/v1/sites/${SITE}/documents/1/chunks`,
    () => `/api/v1/sites/${SITE}//search`,
    () => `/api/v1/sites/${SITE}/search/`,
    () => `/api/v1/%2e%2e/%2e%2e/etc/passwd`,
    () => `/api/v1/sites/..%2f..%2fetc%2fpasswd/chat`,
    () => `/${encodeURIComponent('𝔘ñí\u202e')}/health`,
    () => `/api/v1/health${randomQuery(rng)}`,
    () => '/metrics',
    () => '/',
  ];
  const method = rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
  const path = rng.pick(paths)();
  return {
    label: `${method} ${path.slice(0, 120)} (unknown path)`,
    method,
    path,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    adminWrite: false,
    mutating: false,
  };
}

/** Replaces `:site` and `:id`; `broken` guarantees a site or document that cannot be written. */
function fillPath(rng: Rng, template: string, world: World, broken: boolean): string {
  const hasId = template.includes(':id');
  const breakSite = broken && (!hasId || rng.chance(0.5));
  let site = SITE;
  if (breakSite) site = rng.chance(0.3) ? 'no-such-site' : hostileSegment(rng);
  else if (!broken && rng.chance(0.25))
    site = rng.chance(0.5) ? 'no-such-site' : hostileSegment(rng);
  if (site === SITE && breakSite) site = 'no-such-site';
  let id = String(rng.pick(world.documentIds));
  if ((broken && !breakSite) || (!broken && rng.chance(0.3))) {
    id = rng.chance(0.3) ? '987654321' : encodeURIComponent(rng.pick(HOSTILE_NUMERALS));
    if (broken && world.documentIds.includes(Number(decodeURIComponent(id)))) id = 'abc';
    if (id === '') id = '%20';
  }
  return template.replace(':site', site).replace(':id', id);
}

function randomHeaders(rng: Rng, world: World, authorization: string | undefined) {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  const optional: Array<[string, () => string]> = [
    ['x-site-key', () => (rng.chance(0.5) ? world.publicKey : randomHeaderValue(rng))],
    [
      'origin',
      () => rng.pick([ALLOWED_ORIGIN, 'https://evil.example', 'null', randomHeaderValue(rng)]),
    ],
    ['last-event-id', () => rng.pick(['0', '-1', 'abc:1', '1e309', ':', randomHeaderValue(rng)])],
    [
      'x-request-id',
      () => rng.pick(['fuzz-req-1', 'a'.repeat(129), 'spaces not allowed', randomHeaderValue(rng)]),
    ],
    ['x-edge-secret', () => randomHeaderValue(rng)],
    ['x-client-ip', () => rng.pick(['127.0.0.1', '::1', "1.1.1.1'; --", randomHeaderValue(rng)])],
    ['accept', () => rng.pick(['text/event-stream', '*/*', randomHeaderValue(rng)])],
    [`x-fuzz-${rng.int(100)}`, () => randomHeaderValue(rng)],
  ];
  for (const [name, value] of optional) if (rng.chance(0.3)) headers[name] = headerSafe(value());
  return headers;
}

interface FuzzBody {
  text: string | Uint8Array | FormData;
  /** The Content-Type to send; `undefined` lets fetch set one (multipart). */
  type: string | undefined;
}

/** Any body, valid ones included: for routes that only read, and for writes without the token. */
function anyBody(rng: Rng, route: RouteSpec): FuzzBody {
  const template = route.template!();
  const type = rng.chance(0.8) ? 'application/json' : rng.pick(CONTENT_TYPES);
  switch (rng.int(8)) {
    case 0:
      return { text: JSON.stringify(template), type };
    case 1:
      return { text: JSON.stringify(withField(rng, template, randomJson(rng))), type };
    case 2:
      return { text: JSON.stringify({ ...template, [randomString(rng)]: randomJson(rng) }), type };
    case 3:
      return { text: JSON.stringify(randomJson(rng)), type };
    case 4:
      return { text: multipart(rng), type: undefined };
    case 5: {
      const field = rng.pick(Object.keys(template));
      return { text: JSON.stringify({ ...template, [field]: 'x'.repeat(3_000_000) }), type };
    }
    default:
      return invalidBody(rng, route);
  }
}

/** A body the route must refuse whatever the rest of the request says. */
function invalidBody(rng: Rng, route: RouteSpec): FuzzBody {
  const template = route.template!();
  const json = 'application/json';
  switch (rng.int(9)) {
    case 0:
      return { text: rng.pick(MALFORMED_JSON), type: json };
    case 1:
      return { text: invalidUtf8Json(rng.pick(Object.keys(template))), type: json };
    case 2:
      return { text: deepJson(10_000, rng.chance(0.5) ? 'array' : 'object'), type: json };
    case 3: {
      const key = rng.pick(Object.keys(template));
      return { text: deepJson(10_000, rng.chance(0.5) ? 'array' : 'object', key), type: json };
    }
    case 4:
      return { text: rng.pick(['', ' \n\t ']), type: json };
    case 5:
      return {
        text: JSON.stringify(template),
        type: rng.pick(['text/plain', 'application/x-www-form-urlencoded', '']),
      };
    case 6:
      return route.path.endsWith('/documents')
        ? { text: invalidMultipart(rng), type: undefined }
        : { text: JSON.stringify(brokenField(rng, route, template)), type: json };
    default:
      return { text: JSON.stringify(brokenField(rng, route, template)), type: json };
  }
}

/** The template with one field set to a value its schema refuses. */
function brokenField(rng: Rng, route: RouteSpec, template: Record<string, unknown>) {
  const title = rng.pick(['', '   ', 'x'.repeat(501), 7, null, 'a\u0000b', ['t']]);
  const bad: Record<string, Record<string, unknown[]>> = {
    '/api/v1/sites': {
      name: ['UPPER', '', '-x', 'a'.repeat(64), "'; DROP TABLE chunks; --", 42, null, '../x', SITE],
      title: [title],
      allowedOrigins: [
        'https://a.example',
        ['javascript:alert(1)'],
        ['https://a.example/path'],
        [7],
      ],
    },
    '/api/v1/sites/:site': {
      title: [title],
      allowedOrigins: [['javascript:alert(1)'], ['https://a.example/path'], 'x', [null]],
      rotatePublicKey: ['yes', 1, null],
      [randomString(rng) || 'extra']: [true],
    },
    '/api/v1/sites/:site/documents': {
      title: [title],
      content: ['', 5, null, 'a\u0000b'],
      format: ['exe', 'pdf', 7],
      url: [
        'javascript:alert(1)',
        'file:///etc/passwd',
        'not a url',
        `https://x.example/${'a'.repeat(3000)}`,
        'https://x.example/a\u0000b',
      ],
      metadata: [
        { nested: { a: 1 } },
        { '': 1 },
        { k: 'x'.repeat(1001) },
        { k: 'a\u0000b' },
        { 'a\u0000b': 1 },
        Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])),
        [1],
        { k: [1] },
      ],
      documents: [[], [template, { ...template, title: '' }], 'x'],
      [randomString(rng) || 'extra']: [true],
    },
    '/api/v1/sites/:site/search': {
      query: ['', '   ', 5, 'x'.repeat(1001), 'a\u0000b'],
      k: [0, 201, 1.5, '5', 1e308],
      mode: ['semantic', null],
      rerank: ['yes'],
      filter: [
        { source: [] },
        { metadata: { nested: { a: 1 } } },
        { other: 1 },
        { source: 'x'.repeat(2049) },
      ],
      [randomString(rng) || 'extra']: [true],
    },
    '/api/v1/sites/:site/sources': {
      sitemap: ['', 'ftp://x.test/s.xml', 'javascript:alert(1)', 5, 'x'.repeat(2049)],
      url: ['http://10.0.0.9/docs/'], // with sitemap: both given
      pathPrefix: ['docs', 5, 'a\u0000b'],
      include: ['x', [5], ['a\u0000b'], Array.from({ length: 51 }, () => 'x')],
      maxPages: [0, -1, 1.5, '10', 1e12],
      header: [{ name: 'Cookie', value: 'a' }, { name: 'X', value: 'a\r\nb' }, 'x'],
      intervalSeconds: [0, -5, 'daily', 1e12],
      [randomString(rng) || 'extra']: [true],
    },
    '/api/v1/sites/:site/sync': {
      sourceId: [0, -1, 'one', 1.5],
      dryRun: ['yes', 1],
      [randomString(rng) || 'extra']: [true],
    },
    '/api/v1/sites/:site/chat': {
      message: ['', '   ', 5, 'x'.repeat(4001), 'a\u0000b'],
      conversationId: ['not-a-uuid', "'; DROP TABLE messages; --", 5],
      [randomString(rng) || 'extra']: [true],
    },
  };
  const fields = bad[route.path]!;
  const field = rng.pick(Object.keys(fields));
  return { ...template, [field]: rng.pick(fields[field]!) };
}

function withField(rng: Rng, template: Record<string, unknown>, value: unknown) {
  return { ...template, [rng.pick(Object.keys(template))]: value };
}

function multipart(rng: Rng): FormData {
  const form = new FormData();
  for (let i = rng.int(3); i > 0; i -= 1) {
    const content = rng.chance(0.5)
      ? new TextEncoder().encode(randomString(rng))
      : new Uint8Array(Array.from({ length: rng.int(64) + 1 }, () => rng.int(256)));
    form.append(rng.pick(['file', 'files', 'other']), new Blob([content]), rng.pick(UPLOAD_NAMES));
  }
  for (const field of ['title', 'url', 'metadata']) {
    if (rng.chance(0.3)) form.append(field, randomString(rng));
  }
  return form;
}

/** An upload the documents route must refuse: no file, a bad file, or a bad field. */
function invalidMultipart(rng: Rng): FormData {
  const form = new FormData();
  const text = (s: string) => new Blob([new TextEncoder().encode(s)]);
  switch (rng.int(6)) {
    case 0:
      form.append('title', 'no file at all');
      break;
    case 1:
      form.append(
        'file',
        text('plain words'),
        rng.pick(['x.exe', 'image.png', 'no-extension', '..', '.', '']),
      );
      break;
    case 2:
      form.append(
        'file',
        new Blob([new Uint8Array([0x61, 0xc3, 0x28, 0xff])]),
        rng.pick(['a.txt', 'b.md']),
      );
      break;
    case 3:
      form.append(
        'file',
        new Blob([new Uint8Array([0x61, 0, 0x62])]),
        rng.pick(UPLOAD_NAMES.filter((n) => /\.(txt|md)$/.test(n))),
      );
      break;
    case 4:
      form.append('file', text('# Fine\n\nWords.'), 'fine.md');
      form.append('metadata', rng.pick(['not json', '[1]', '{"a":{"b":1}}', '{"a":"\\u0000"}']));
      break;
    default:
      form.append('file', text('# One\n\nWords.'), 'one.md');
      form.append('file', text('# Two\n\nWords.'), 'two.md');
      form.append('title', rng.pick(['both', '']));
  }
  return form;
}

function describeBody(body: FuzzBody['text']): string {
  if (typeof body === 'string') return JSON.stringify(body.slice(0, 80));
  if (body instanceof Uint8Array) return `${body.length} bytes`;
  return `form(${[...body.keys()].join(',')})`;
}

function send(h: Harness, fuzz: FuzzCase): Promise<Response> {
  const request = h.app.request(fuzz.path, {
    method: fuzz.method,
    headers: fuzz.headers,
    body: fuzz.body,
  });
  return withTimeout(Promise.resolve(request), 'no answer');
}

async function checkResponse(response: Response, fuzz: FuzzCase, where: string): Promise<void> {
  const text = await withTimeout(response.text(), 'the body did not end');
  expect(response.status, `${where}: ${text.slice(0, 300)}`).toBeLessThan(500);
  const requestId = response.headers.get('x-request-id');
  expect(requestId, `${where}: no X-Request-Id`).toMatch(/^[\w\-=]{1,128}$/);
  for (const leak of LEAKS) expect(text, `${where}: leaks ${leak}`).not.toMatch(leak);
  if (fuzz.mutating)
    expect(response.status, `${where}: a write was accepted`).toBeGreaterThanOrEqual(400);
  if (response.status < 400) {
    if (response.headers.get('content-type')?.startsWith('text/event-stream'))
      expect(text, `${where}: the stream failed`).not.toContain('"code":"internal"');
    return;
  }
  if (fuzz.method === 'HEAD') return;
  expect(response.headers.get('content-type'), where).toMatch(/^application\/json/);
  const body = JSON.parse(text);
  expect(body, where).toEqual({
    error: { code: expect.any(String), message: expect.any(String), requestId },
  });
  expect(STATUS_BY_CODE[body.error.code as keyof typeof STATUS_BY_CODE], where).toBe(
    response.status,
  );
}

/** `promise`, or a failure naming `what` after `REQUEST_TIMEOUT_MS`: a stream must end by itself. */
async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} in ${REQUEST_TIMEOUT_MS} ms`)),
      REQUEST_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
