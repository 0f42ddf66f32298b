// Property tests (issue part 5 item 6.3), on SQLite and PostgreSQL: whatever a client sends to any
// route, the answer is never a 5xx, and the server still answers /healthz afterwards.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareForm } from '../src/client/protocol.js';
import { dbUnavailable } from './support/db.js';
import { startTestInstance, type TestInstance } from './support/instance.js';

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-16',
  'multipart/form-data; boundary=XyZ',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'text/plain',
  'text/html',
  'application/octet-stream',
  'application/xml',
  'application/json, text/html',
  'image/png',
  ';;;',
  '',
];
const FIELD_NAMES = ['name', 'email', 'message', 'lang', 'submit', '_token', '_hp', 'altcha', '_captcha', 'fields', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'email[]', ''];

const fieldName = fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 12 }));
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 60, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.constantFrom('a@example.jp', 'a@example.jp, b@example.jp', 'x\r\nBcc: y@example.jp', '\u0000', '%00', 'ja', 'en', 'zz', '💥'.repeat(100)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 50_000 }).map((n) => 'x'.repeat(n)) },
);
/** Nested values within the body limit (64 KB) and around the JSON depth limit (8). */
const nested = fc.integer({ min: 1, max: 40 }).chain((depth) => fc.constantFrom('[', '{"a":').map((open) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`));
const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fieldName, fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.jsonValue({ maxDepth: 3 })), { maxKeys: 30 }).map((o) => JSON.stringify(o)),
  fc.dictionary(fieldName, text, { maxKeys: 8 }).map((o) => JSON.stringify({ fields: o, _token: 'x' })),
  nested.map((n) => `{"name":${n}}`),
  nested,
  fc.string({ maxLength: 200 }).map((s) => `{"name":"${s}`),
);
const percent = fc.constantFrom('%', '%z', '%zz', '%e3%81', '%ff', '%00', '%C0%80', '%ED%A0%80', '%F4%90%80%80', '+', '=', '&', '&&', '==', '%25', '%26', '%3D');
const urlencodedBody = fc.oneof(
  fc.array(fc.oneof(percent, fc.string({ maxLength: 10 })), { maxLength: 40 }).map((a) => a.join('')),
  fc.array(fc.tuple(fieldName, text), { maxLength: 30 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
  fc.integer({ min: 1, max: 3000 }).map((n) => 'a=1&'.repeat(n)),
);
const multipartBody = fc.array(fc.tuple(fieldName, text, fc.boolean()), { maxLength: 10 }).map((parts) =>
  parts
    .map(([k, v, file]) => `--XyZ\r\nContent-Disposition: form-data; name="${k}"${file ? '; filename="a.txt"' : ''}\r\n\r\n${v}\r\n`)
    .join('')
    .concat('--XyZ--\r\n'),
);
const bytes = fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a));
const body = fc.oneof(jsonBody, urlencodedBody, multipartBody, bytes, fc.constant(''));
const headers = fc.record(
  {
    'content-type': fc.constantFrom(...CONTENT_TYPES),
    'accept-language': fc.oneof(fc.constantFrom('ja', 'en-US,en;q=0.9', '*', 'xx', 'en;q=abc', ''), fc.string({ maxLength: 20 })),
    origin: fc.constantFrom('https://shop.example.jp', 'null', 'https://evil.example', 'not a url'),
    accept: fc.constantFrom('application/json', 'text/html', '*/*'),
  },
  { requiredKeys: ['content-type'] },
);
/** A client address for this request (the test instance trusts X-Forwarded-For from 127.0.0.1). */
const clientIp = fc.ipV4();
const pathSegment = fc.oneof(fc.string({ maxLength: 30 }).map(encodeURIComponent), fc.constantFrom('%zz', '%00', '..', '%2e%2e', '%2F', 'a'.repeat(2000), 'contact', '%E3%81'));

/** Bodies of any shape with any content type; for half of the multipart ones, a well-formed multipart body. */
const withBody = fc.tuple(headers, fc.option(body, { nil: undefined }), multipartBody, fc.boolean()).map(([h, b, mp, framed]) =>
  /^multipart\//i.test(h['content-type']) && framed ? { h: { ...h, 'content-type': 'multipart/form-data; boundary=XyZ' }, b: mp } : { h, b },
);

/** Header values must be ByteStrings for fetch: drop anything fetch itself would refuse. */
function cleanHeaders(h: Record<string, string | undefined>, ip: string): Record<string, string> {
  const out: Record<string, string> = { 'x-forwarded-for': ip };
  for (const [k, v] of Object.entries(h)) if (v !== undefined && /^[\x20-\x7e]*$/.test(v)) out[k] = v;
  return out;
}

describe.skipIf(dbUnavailable())('HTTP properties: never a 5xx', () => {
  let t: TestInstance;
  const seen: Record<string, Set<number>> = {};
  const request = async (method: string, path: string, init: { headers?: Record<string, string>; body?: string | Buffer } = {}) => {
    const res = await fetch(`${t.url}${path}`, { method, headers: init.headers, body: init.body as never, redirect: 'manual' });
    const text = await res.text();
    (seen[method + ' ' + path.split('?')[0]!.split('/').slice(0, 3).join('/')] ??= new Set()).add(res.status);
    if (res.status >= 500) throw new Error(`${method} ${path.slice(0, 200)} -> ${res.status}: ${text.slice(0, 500)}`);
    return res.status;
  };
  const healthy = async () => expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('POST /api/forms/contact/submissions and POST /f/contact with random bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/api/forms/contact/submissions', '/f/contact'), withBody, clientIp, fc.constantFrom('', '?lang=en', '?lang=%zz', '?lang[]=x'), async (path, { h, b }, ip, q) => {
        await request('POST', path + q, { headers: cleanHeaders(h, ip), body: b ?? '' });
      }),
      { numRuns: 150 },
    );
    await healthy();
  }, 120_000);

  it('submissions that carry a valid protocol (token, proof-of-work) with random fields', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom('name', 'email', 'message', 'lang', 'extra', 'fields'), fc.oneof(text, fc.array(text, { maxLength: 2 }), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 5 }),
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=XyZ'),
        fc.constantFrom('/api/forms/contact/submissions', '/f/contact'),
        clientIp,
        async (fields, type, path, ip) => {
          const prepared = await prepareForm(t.url, 'contact', { headers: { 'x-forwarded-for': ip } });
          const all: Record<string, unknown> = { name: '山田', email: 'taro@example.jp', message: 'hello', ...fields, ...prepared.fields };
          const flat = Object.entries(all).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, typeof x === 'string' ? x : JSON.stringify(x)]) : [[k, typeof v === 'string' ? v : JSON.stringify(v)]]));
          const encoded =
            type === 'application/json'
              ? JSON.stringify(all)
              : type.startsWith('multipart')
                ? flat.map(([k, v]) => `--XyZ\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') + '--XyZ--\r\n'
                : flat.map(([k, v]) => `${encodeURIComponent(k!)}=${encodeURIComponent(v!)}`).join('&');
          const status = await request('POST', path, { headers: { 'content-type': type, 'x-forwarded-for': ip }, body: encoded });
          if (status === 201 || status === 303) accepted++;
        },
      ),
      { numRuns: 60 },
    );
    // Some of them got all the way through intake (rows and outbox written), not only the 4xx path.
    expect(accepted).toBeGreaterThan(3);
    await healthy();
  }, 120_000);

  it('GET /f/contact?lang=..., GET /api/forms/contact/challenge with random queries and headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/f/contact', '/api/forms/contact/challenge', '/api/forms/contact/challenge/altcha', '/api/forms/contact/captcha', '/f/contact/thanks'),
        fc.oneof(fc.string({ maxLength: 30 }).map((s) => `?lang=${encodeURIComponent(s)}`), fc.constantFrom('?lang=%zz', '?lang=en&lang=ja', '?lang[]=en', '?id=%00', '?id=' + 'x'.repeat(3000), '?', '?&&=', '?__proto__=1')),
        headers,
        clientIp,
        async (path, q, h, ip) => {
          await request('GET', path + q, { headers: cleanHeaders(h, ip) });
        },
      ),
      { numRuns: 150 },
    );
    await healthy();
  }, 120_000);

  it('GET and POST /u/<random>', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST'),
        fc.oneof(pathSegment, fc.base64String({ maxLength: 200 }).map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')), fc.tuple(fc.base64String({ maxLength: 80 }), fc.base64String({ maxLength: 60 })).map(([a, b]) => encodeURIComponent(`${a}.${b}`))),
        withBody,
        clientIp,
        async (method, token, { h, b }, ip) => {
          await request(method, `/u/${token}`, { headers: cleanHeaders(h, ip), body: method === 'POST' ? b : undefined });
        },
      ),
      { numRuns: 150 },
    );
    await healthy();
  }, 120_000);

  it('unknown routes and methods', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.array(pathSegment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/')),
        fc.constantFrom('', '/f/', '/api/forms/', '/u/', '/static/', '/api/forms/contact/', '/f/contact/'),
        withBody,
        clientIp,
        async (method, path, prefix, { h, b }, ip) => {
          const hasBody = method !== 'GET' && method !== 'HEAD';
          await request(method, `${prefix || '/'}${path}`, { headers: cleanHeaders(h, ip), body: hasBody ? b : undefined });
        },
      ),
      { numRuns: 150 },
    );
    await healthy();
  }, 120_000);

  it('the runs reached the handlers (sanity check of the harness)', () => {
    const statuses = Object.values(seen).flatMap((s) => [...s]);
    // Both successes and refusals occurred: the properties did not only test the 4xx path.
    expect(statuses.some((s) => s >= 200 && s < 400)).toBe(true);
    expect(statuses.some((s) => s >= 400 && s < 500)).toBe(true);
  });

  // BUG (found by the random-body properties): a multipart/form-data request whose framing is broken
  // (no boundary line at all, a truncated part, no or an empty boundary= parameter) is answered 500. @fastify/busboy's Dicer
  // emits a plain `new Error('Unexpected end of multipart data')` (no statusCode, no code), which the
  // error handler in src/http/app.ts (setErrorHandler: `error.statusCode ?? 500`) turns into a 500
  // E_INTERNAL, logged as "unhandled error". Routes registered before setErrorHandler (the OPTIONS
  // route added by @fastify/cors, @fastify/static) answer with Fastify's default 500 body instead.
  // Fix: in src/http/body.ts make multipart parse failures BadInputErrors (e.g. in the error handler,
  // map errors raised while parsing a multipart body - no statusCode and req.isMultipart() / content
  // type multipart/* - to 400), and call setErrorHandler before registering cors/static so every
  // route shares it.
  const multipart = (method: string, path: string, body: string) =>
    fetch(`${t.url}${path}`, { method, headers: { 'content-type': 'multipart/form-data; boundary=XyZ' }, body, redirect: 'manual' }).then((r) => r.status);
  it('a body without multipart framing is a 400, not a 500 (API)', async () => {
    expect(await multipart('POST', '/api/forms/contact/submissions', '\u0000')).toBe(400);
  });
  it('a truncated multipart part is a 400, not a 500 (hosted form)', async () => {
    expect(await multipart('POST', '/f/contact', '--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nabc')).toBe(400);
  });
  it('a broken multipart body on POST /u/<token> is a 4xx, not a 500', async () => {
    expect(await multipart('POST', '/u/abc', '{"name":[1]}')).toBeLessThan(500);
  });
  it('multipart without a boundary parameter is a 4xx, not a 500', async () => {
    const status = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: '' }).then((r) => r.status);
    expect(status).toBeLessThan(500);
  });
  it('multipart with an empty boundary is a 4xx, not a 500', async () => {
    const status = await fetch(`${t.url}/u/contact`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=' }, body: '--XyZ--\r\n' }).then((r) => r.status);
    expect(status).toBeLessThan(500);
  });
  it('a broken multipart body on an OPTIONS request is a 4xx, not a 500', async () => {
    expect(await multipart('OPTIONS', '/', '{}')).toBeLessThan(500);
  });
});
