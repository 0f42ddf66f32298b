// The HTTP surface against a real database: the happy paths, and every bad input from issue part 1
// answered with a 4xx, no row written, no mail, and the server still serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareForm } from '../client/protocol.js';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';

const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    cors: { origins: ["https://shop.example.jp"] }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: topic, type: select, options: [order, other], label: { ja: 種別, en: Topic } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}" }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}" }
`;

describe.skipIf(dbUnavailable())('HTTP API and hosted form', () => {
  let t: TestInstance;
  const counts = async () => {
    const k = t.instance.db.kysely;
    const s = await k.selectFrom('submissions').select(k.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const m = await k.selectFrom('outbox').select(k.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { submissions: Number(s.n), mails: Number(m.n) };
  };
  const api = (body: string | Uint8Array | FormData, contentType = 'application/json', form = 'contact') =>
    fetch(`${t.url}/api/forms/${form}/submissions`, { method: 'POST', headers: { 'content-type': contentType }, body: body as never });
  const good = { name: '山田 太郎', email: 'taro@example.jp', message: 'お見積りをお願いします。' };
  /** A visitor's fields plus the protocol fields the hosted page adds (token, honeypot, proof-of-work). */
  const withProtocol = async (fields: Record<string, string>) => ({ ...fields, ...(await prepareForm(t.url, 'contact')).fields });

  beforeAll(async () => {
    t = await startTestInstance({ forms: FORMS, startWorker: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('accepted submissions', () => {
    it('JSON: 201 with id and status, submission and outbox rows written together', async () => {
      const before = await counts();
      const res = await api(JSON.stringify(await withProtocol(good)));
      expect(res.status).toBe(201);
      const body = (await res.json()) as { id: string; status: string };
      expect(body.status).toBe('accepted');
      expect(body.id).toMatch(/^s_[0-9a-z]{22}$/);
      const row = await t.instance.db.kysely.selectFrom('submissions').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow();
      expect(JSON.parse(row.fields)).toEqual({ ...good, topic: '' });
      const mails = await t.instance.db.kysely.selectFrom('outbox').selectAll().where('submission_id', '=', body.id).execute();
      expect(mails.map((m) => [m.kind, m.to_addr, m.reply_to]).sort()).toEqual([
        ['autoreply', 'taro@example.jp', null],
        ['notify', 'owner@example.jp', 'taro@example.jp'],
      ]);
      expect(await counts()).toEqual({ submissions: before.submissions + 1, mails: before.mails + 2 });
    });

    it('JSON with a "fields" object is accepted too', async () => {
      const { _token, website, altcha } = await withProtocol({});
      const res = await api(JSON.stringify({ fields: good, _token, website, altcha }));
      expect(res.status).toBe(201);
    });

    it('urlencoded and multipart (without files) are accepted', async () => {
      const res = await api(new URLSearchParams(await withProtocol(good)).toString(), 'application/x-www-form-urlencoded');
      expect(res.status).toBe(201);
      const fd = new FormData();
      for (const [k, v] of Object.entries(await withProtocol(good))) fd.append(k, v);
      const mp = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', body: fd });
      expect(mp.status).toBe(201);
    });

    it('plain HTML form post: 303 to the thank-you page in the visitor language', async () => {
      const res = await fetch(`${t.url}/f/contact`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...(await withProtocol(good)), lang: 'en' }).toString(),
        redirect: 'manual',
      });
      expect(res.status).toBe(303);
      const location = res.headers.get('location')!;
      expect(location).toMatch(/^\/f\/contact\/thanks\?lang=en&id=[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
      const thanks = await (await fetch(`${t.url}${location}`)).text();
      expect(thanks).toContain('Thank you');
      expect(thanks).toContain('<html lang="en">');
    });
  });

  describe('hosted form page', () => {
    it('is served in Japanese by default and in English from Accept-Language or ?lang=', async () => {
      const ja = await (await fetch(`${t.url}/f/contact`)).text();
      expect(ja).toContain('<html lang="ja">');
      expect(ja).toContain('<label for="f-name">お名前');
      const en = await (await fetch(`${t.url}/f/contact`, { headers: { 'accept-language': 'en-US,en;q=0.9,ja;q=0.5' } })).text();
      expect(en).toContain('<label for="f-name">Name');
      const q = await (await fetch(`${t.url}/f/contact?lang=en`, { headers: { 'accept-language': 'ja' } })).text();
      expect(q).toContain('<html lang="en">');
    });

    it('shows the form again with field errors and the visitor input kept (escaped)', async () => {
      const before = await counts();
      const res = await fetch(`${t.url}/f/contact`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ name: '<b>Taro</b>', email: 'not-an-address', message: '', lang: 'ja' }).toString(),
      });
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain('value="&lt;b&gt;Taro&lt;/b&gt;"');
      expect(html).not.toContain('<b>Taro</b>');
      expect(html).toContain('aria-invalid="true" aria-describedby="f-email-error"');
      expect(html).toContain('メールアドレスを1件、正しい形式');
      expect(html).toContain('この項目は必須です。');
      expect(html).toContain('role="alert"');
      expect(await counts()).toEqual(before);
    });
  });

  describe('bad input: 4xx, no row, no mail, server keeps serving', () => {
    const cases: [string, () => Promise<Response>, number, string?][] = [
      ['unknown form (API)', () => api(JSON.stringify(good), 'application/json', 'nope'), 404],
      ['unknown form (page)', () => fetch(`${t.url}/f/nope`), 404],
      ['wrong content type', () => api('name=a', 'text/plain'), 415],
      ['body over the limit', () => api(JSON.stringify({ ...good, message: 'x'.repeat(70_000) })), 413],
      ['missing field', () => api(JSON.stringify({ name: 'a', email: 'a@example.jp' })), 400, 'message'],
      ['too long field', () => api(JSON.stringify({ ...good, name: 'x'.repeat(81) })), 400, 'name'],
      ['email with CR/LF', () => api(JSON.stringify({ ...good, email: 'a@example.jp\r\nBcc: v@example.com' })), 400, 'email'],
      ['email with a comma', () => api(JSON.stringify({ ...good, email: 'a@example.jp,v@example.com' })), 400, 'email'],
      ['several addresses', () => api(JSON.stringify({ ...good, email: 'a@example.jp v@example.com' })), 400, 'email'],
      ['display name', () => api(JSON.stringify({ ...good, email: 'Victim <v@example.com>' })), 400, 'email'],
      ['option not offered', () => api(JSON.stringify({ ...good, topic: 'spam' })), 400, 'topic'],
      ['invalid UTF-8 (JSON)', () => api(Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","email":"a@example.jp","message":"x"}')])), 400],
      ['invalid UTF-8 (urlencoded)', () => api('name=%FF%FE&email=a%40example.jp&message=x', 'application/x-www-form-urlencoded'), 400],
      ['broken percent-escape', () => api('name=%E3%81&email=a%40example.jp&message=x', 'application/x-www-form-urlencoded'), 400],
      ['NUL byte', () => api(JSON.stringify({ ...good, message: 'a\u0000b' })), 400, 'message'],
      ['repeated field', () => api('name=a&name=b&email=a%40example.jp&message=x', 'application/x-www-form-urlencoded'), 400, 'name'],
      ['1,000 extra fields', () => api(new URLSearchParams({ ...good, ...Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x${i}`, 'y'])) }).toString(), 'application/x-www-form-urlencoded'), 400],
      ['deeply nested JSON', () => api(`${'['.repeat(5000)}${']'.repeat(5000)}`), 400],
      ['nested values', () => api(JSON.stringify({ ...good, name: { first: 'a' } })), 400, 'name'],
      ['JSON array body', () => api('[1,2,3]'), 400],
      ['malformed JSON', () => api('{"name": '), 400],
      ['empty JSON body', () => api(''), 400],
      ['multipart with a file', () => {
        const fd = new FormData();
        for (const [k, v] of Object.entries(good)) fd.append(k, v);
        fd.append('upload', new Blob(['hello']), 'x.txt');
        return fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', body: fd });
      }, 400],
    ];
    it.each(cases)('%s', async (_name, send, status, field) => {
      const before = await counts();
      const res = await send();
      expect(res.status).toBe(status);
      if (res.headers.get('content-type')?.includes('json')) {
        const body = (await res.json()) as { error: { code: string; message: string; fields?: Record<string, unknown> } };
        expect(body.error.code).toMatch(/^E_/);
        expect(body.error.message.length).toBeGreaterThan(0);
        if (field) expect(Object.keys(body.error.fields ?? {})).toContain(field);
      }
      expect(await counts()).toEqual(before);
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    });

    it('field errors come in the visitor language', async () => {
      const res = await fetch(`${t.url}/api/forms/contact/submissions?lang=en`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...good, email: 'x' }) });
      const body = (await res.json()) as { error: { fields: Record<string, { code: string; message: string }> } };
      expect(body.error.fields.email).toEqual({ code: 'email', message: 'Enter one email address, e.g. name@example.com.' });
    });
  });

  it('CORS is allowed only for the origins listed on the form', async () => {
    const ok = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'OPTIONS', headers: { origin: 'https://shop.example.jp', 'access-control-request-method': 'POST' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example.jp');
    const other = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('exposes health and Prometheus metrics (submissions by outcome, outbox depth)', async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/formwarden_submissions_total\{form="contact",outcome="accept"\} [1-9]/);
    expect(metrics).toMatch(/formwarden_submissions_total\{form="contact",outcome="invalid"\} [1-9]/);
    expect(metrics).toMatch(/formwarden_outbox_depth\{state="pending"\} [1-9]/);
  });
});
