// Issue #11: the owner's console over HTTP, on a real instance and database. Login (CSRF-bound, rate
// limited, scrypt), sessions in the database, every state-changing route refused without the session's
// CSRF token, a member kept to their forms, hostile visitor text shown as text.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { ConsoleClient, CONSOLE_PASSWORD } from '../../test/support/console-client.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { tokenHash } from './sessions.js';
import { newTotpSecret, totpCode } from './totp.js';
import { addUser, setTotpSecret } from './users.js';

const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 20000, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 20000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}" }
  - id: recruit
    title: { ja: 採用, en: Jobs }
    fields:
      - { name: name, type: text, required: true, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, label: { ja: 志望動機, en: Why us } }
    notify: { to: [hr@example.jp], subject: "[Jobs] {{name}}" }
`;

const PASSWORD = CONSOLE_PASSWORD;
const Client = ConsoleClient;

describe.skipIf(dbUnavailable())('the console over HTTP', () => {
  let t: TestInstance;
  let ids: { contact: string; recruit: string; hostile: string };
  const HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>\u202Egnp.exe';

  beforeAll(async () => {
    t = await startTestInstance({ forms: FORMS, startWorker: false });
    const k = t.instance.db.kysely;
    const known = ['contact', 'recruit'];
    await addUser(k, { email: 'Owner@Example.jp', role: 'owner', password: PASSWORD, knownForms: known });
    await addUser(k, { email: 'member@example.jp', role: 'member', forms: ['recruit'], password: PASSWORD, knownForms: known });
    const post = async (form: string, fields: Record<string, string>) => {
      const r = await fetch(`${t.url}/api/forms/${form}/submissions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
      expect(r.status).toBe(201);
      return ((await r.json()) as { id: string }).id;
    };
    ids = {
      contact: await post('contact', { name: '山田 花子', email: 'hanako@example.jp', message: '見積もりをお願いします' }),
      recruit: await post('recruit', { name: '佐藤 一郎', email: 'ichiro@example.jp', message: '応募します' }),
      hostile: await post('contact', { name: HOSTILE, email: 'x@example.jp', message: `${HOSTILE}\n${'長'.repeat(10_000)}` }),
    };
  });
  afterAll(async () => {
    await t?.close();
  });

  it('without a session: a page redirects to the login page (303), JSON gets 401, a POST never reaches its handler', async () => {
    const c = new Client(t.url);
    const page = await c.req('/admin/inbox?form=contact');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/admin/login?next=%2Fadmin%2Finbox%3Fform%3Dcontact');
    const json = await c.req(`/admin/submissions/${ids.contact}`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(401);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe('E_LOGIN_REQUIRED');
    expect((await c.req('/admin/export.csv?form=contact')).status).toBe(303);
    // JSON is asked for by the path (.json) or the Accept header, not by anything in the query.
    expect((await c.req('/admin/export.json?form=contact')).status).toBe(401);
    expect((await c.req('/admin/inbox?q=.json')).status).toBe(303);
    expect((await c.req('/admin/logout', { method: 'POST', form: {} })).status).toBe(303);
  });

  it('login needs the form token from its cookie; a wrong password and an unknown account read the same; a session cookie is HttpOnly and SameSite', async () => {
    const c = new Client(t.url);
    await c.loginToken();
    const forged = await c.req('/admin/login', { method: 'POST', form: { _csrf: 'forged', email: 'owner@example.jp', password: PASSWORD } });
    expect(forged.status).toBe(403);
    expect(c.cookies.has('fw_session')).toBe(false);
    const wrong = await c.login('owner@example.jp', 'not the password');
    const unknown = await c.login('nobody@example.jp', 'not the password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const text = (s: string) => /role="alert">([^<]*)</.exec(s)?.[1];
    expect(text(await wrong.text())).toBe(text(await unknown.text()));
    const ok = await c.login('OWNER@example.jp ');
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/admin/inbox');
    const set = ok.headers.getSetCookie().find((x) => x.startsWith('fw_session='))!;
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Lax/i);
    expect(set).not.toMatch(/Secure/i); // plain http on loopback
    // The database holds the token's hash, never the token.
    const token = c.cookies.get('fw_session')!;
    const rows = await t.instance.db.kysely.selectFrom('console_sessions').select('id').execute();
    expect(rows.map((r) => r.id)).not.toContain(token);
    expect((await c.req('/admin/inbox')).status).toBe(200);
    const audit = await t.instance.db.kysely.selectFrom('console_audit').select(['action', 'email']).execute();
    expect(audit).toEqual(expect.arrayContaining([{ action: 'login', email: 'owner@example.jp' }, { action: 'login_failed', email: 'owner@example.jp' }]));
  });

  it('failed logins lock the account out (429 with Retry-After) even for the right password', async () => {
    await addUser(t.instance.db.kysely, { email: 'victim@example.jp', role: 'owner', password: PASSWORD, knownForms: ['contact', 'recruit'] });
    const c = new Client(t.url);
    for (let i = 0; i < 5; i++) expect((await c.login('victim@example.jp', `guess ${i}`)).status).toBe(401);
    const locked = await c.login('victim@example.jp');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await locked.text()).toContain('しばらくログインできません');
    expect(c.cookies.has('fw_session')).toBe(false);
  });

  it('with a second factor: the password alone fails, the code from the app works once, a replayed code fails', async () => {
    const k = t.instance.db.kysely;
    await addUser(k, { email: 'totp@example.jp', role: 'owner', password: PASSWORD, knownForms: ['contact', 'recruit'] });
    const secret = newTotpSecret();
    await setTotpSecret(k, 'totp@example.jp', secret);
    const c = new Client(t.url);
    expect((await c.login('totp@example.jp')).status).toBe(401);
    const code = totpCode(secret, Date.now());
    const withCode = async (client: ConsoleClient, value: string) => {
      const token = await client.loginToken();
      return client.req('/admin/login', { method: 'POST', form: { _csrf: token, email: 'totp@example.jp', password: PASSWORD, code: value } });
    };
    expect((await withCode(c, code === '000000' ? '111111' : '000000')).status).toBe(401);
    expect((await withCode(c, code)).status).toBe(303);
    expect((await c.req('/admin/inbox')).status).toBe(200);
    // The same code again (another browser, within its 30 seconds): spent.
    expect((await withCode(new Client(t.url), code)).status).toBe(401);
  });

  it('the inbox and the inquiry page show hostile visitor text as text, with labels and the verdict explained', async () => {
    const c = new Client(t.url);
    await c.login('owner@example.jp');
    const inbox = await (await c.req('/admin/inbox')).text();
    expect(inbox).toContain('山田 花子');
    expect(inbox).toContain('佐藤 一郎');
    expect(inbox).not.toContain('<script>alert(1)');
    expect(inbox).not.toContain('<img src=x');
    expect(inbox).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    const page = await c.req(`/admin/submissions/${ids.hostile}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const body = await page.text();
    expect(body).not.toMatch(/<script>alert|<img src=x/);
    expect(body).toMatch(/<dd dir="auto" class="value">&lt;script&gt;/);
    expect(body).toContain('長'.repeat(10_000));
    const own = await (await c.req(`/admin/submissions/${ids.contact}`)).text();
    expect(own).toContain('<dt>お名前</dt><dd dir="auto" class="value">山田 花子</dd>');
    expect(own).toContain('フォームトークンがありません'); // NO_PROOF explained in the owner's language
    const search = await (await c.req(`/admin/inbox?q=${encodeURIComponent('見積もり')}`)).text();
    expect(search).toContain('山田 花子');
    expect(search).not.toContain('佐藤 一郎');
  });

  it('inbox pages shared from the cache carry each session its own CSRF token, and a new inquiry shows at once', async () => {
    await addUser(t.instance.db.kysely, { email: 'second@example.jp', role: 'owner', password: PASSWORD, knownForms: ['contact', 'recruit'] });
    const a = new Client(t.url);
    const b = new Client(t.url);
    await a.login('owner@example.jp');
    await b.login('second@example.jp');
    const tokenOf = (html: string) => [...html.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]);
    const pa = await (await a.req('/admin/inbox?form=contact')).text();
    const pb = await (await b.req('/admin/inbox?form=contact')).text();
    const ta = new Set(tokenOf(pa));
    const tb = new Set(tokenOf(pb));
    expect(ta.size).toBe(1);
    expect(tb.size).toBe(1);
    expect([...ta][0]).not.toBe([...tb][0]);
    expect(pb).not.toContain([...ta][0]!);
    expect(pb).toContain('<span class="who">second@example.jp</span>');
    const r = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '新着 太郎', email: 'new@example.jp', message: 'すぐに見えるはず' }) });
    expect(r.status).toBe(201);
    expect(await (await a.req('/admin/inbox?form=contact')).text()).toContain('新着 太郎');
  });

  it('a member sees only their forms: another form is absent from the inbox, its inquiry is 404, its export 404', async () => {
    const c = new Client(t.url);
    await c.login('member@example.jp');
    const inbox = await (await c.req('/admin/inbox')).text();
    expect(inbox).toContain('佐藤 一郎');
    expect(inbox).not.toContain('山田 花子');
    expect((await c.req(`/admin/submissions/${ids.recruit}`)).status).toBe(200);
    expect((await c.req(`/admin/submissions/${ids.contact}`)).status).toBe(404);
    expect((await c.req('/admin/inbox?form=contact')).status).toBe(200);
    expect(await (await c.req('/admin/inbox?form=contact')).text()).not.toContain('山田 花子');
    expect((await c.req('/admin/export.csv?form=contact')).status).toBe(404);
    expect((await c.req('/admin/export.csv?form=recruit')).status).toBe(200);
  });

  it('export.csv is UTF-8 with a BOM, labels as columns, and reads back', async () => {
    const c = new Client(t.url);
    await c.login('owner@example.jp');
    const res = await c.req('/admin/export.csv?form=contact');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="formwarden-contact-\d{4}-\d{2}-\d{2}\.csv"$/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(bytes.subarray(3).toString('utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.find((r) => r.id === ids.contact)?.['お問い合わせ内容']).toBe('見積もりをお願いします');
    const json = (await (await c.req('/admin/export.json?form=contact')).json()) as Record<string, string>[];
    expect(json.map((r) => r.id)).toEqual(expect.arrayContaining([ids.contact, ids.hostile]));
    expect(json.map((r) => r.id)).not.toContain(ids.recruit);
  });

  it('logout without or with a wrong CSRF token is 403 and the session lives; with it, the session ends everywhere', async () => {
    const c = new Client(t.url);
    await c.login('owner@example.jp');
    const csrf = await c.csrf();
    for (const form of [{}, { _csrf: 'wrong' }, { _csrf: `${csrf}x` }] as Record<string, string>[]) {
      const r = await c.req('/admin/logout', { method: 'POST', form });
      expect(r.status).toBe(403);
      expect((await c.req('/admin/inbox')).status).toBe(200);
    }
    expect((await c.req('/admin/logout', { method: 'POST', headers: { 'x-csrf-token': 'wrong' }, form: {} })).status).toBe(403);
    const stolen = c.cookies.get('fw_session')!;
    const out = await c.req('/admin/logout', { method: 'POST', form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    // The old cookie, replayed, opens nothing: the session is gone from the database.
    const replay = new Client(t.url);
    replay.cookies.set('fw_session', stolen);
    expect((await replay.req('/admin/inbox')).status).toBe(303);
  });

  it('an expired session is refused and removed', async () => {
    const c = new Client(t.url);
    await c.login('owner@example.jp');
    await t.instance.db.kysely.updateTable('console_sessions').set({ expires_at: Date.now() - 1 }).execute();
    expect((await c.req('/admin/inbox')).status).toBe(303);
    const id = tokenHash(c.cookies.get('fw_session')!);
    expect(await t.instance.db.kysely.selectFrom('console_sessions').select('id').where('id', '=', id).execute()).toEqual([]);
  });

  it('the language switch only sends back inside the console (no open redirect)', async () => {
    const c = new Client(t.url);
    for (const next of ['https://evil.example/', '//evil.example/', '/\\evil.example', '/admin/../f/contact', 'javascript:alert(1)']) {
      const r = await c.req(`/admin/lang/en?next=${encodeURIComponent(next)}`);
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toBe('/admin/inbox');
    }
    await c.login('owner@example.jp');
    await c.req('/admin/lang/en?next=%2Fadmin%2Finbox');
    expect(await (await c.req('/admin/inbox')).text()).toContain('<h1>Inbox</h1>');
  });
});
