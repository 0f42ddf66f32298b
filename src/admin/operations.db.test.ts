// Issue #11 item 6: the console's operations pages over HTTP on a real instance and database. Every POST
// route: no session -> 303 to the login page, no or a wrong CSRF token -> 403, a member -> 404, each with
// the table unchanged; with the owner's token -> the change (made by the CLI's own core function) and an
// audit row. The mail viewer decodes a captured mail, shows its source escaped, and keeps members to the
// mails of their own forms' inquiries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRule } from '../defenses/ip-lists/rules-store.js';
import { enqueue, outboxRow } from '../mail/outbox.js';
import { normalizeAddress } from '../relay/address.js';
import { suppress } from '../relay/suppression.js';
import { ConsoleClient, CONSOLE_PASSWORD } from '../../test/support/console-client.js';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { addUser } from './users.js';

const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 500, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}" }
  - id: recruit
    title: { ja: 採用, en: Jobs }
    fields:
      - { name: name, type: text, required: true, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, label: { ja: 志望動機, en: Why us } }
    notify: { to: [hr@example.jp], subject: "[Jobs] {{name}}" }
`;

const HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>\u202Egnp.exe';
const HOSTILE_ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;\u202Egnp.exe';
const OPS = '/admin/operations';

type Table = 'breakers' | 'ip_rules' | 'bans' | 'suppressions' | 'outbox';

describe.skipIf(dbUnavailable())('the console: operations', () => {
  let t: TestInstance;
  let owner: ConsoleClient;
  let member: ConsoleClient;
  let ownerCsrf: string;
  let memberCsrf: string;
  const mails = { contact: '', recruit: '', alert: '', webhook: '' };
  const k = () => t.instance.db.kysely;
  const rows = async (table: Table) => JSON.stringify(await k().selectFrom(table).selectAll().execute().then((r) => r.map((x) => JSON.stringify(x)).sort()));
  const audits = (action: string) => k().selectFrom('console_audit').select(['email', 'action', 'target', 'detail']).where('action', '=', action).execute();

  beforeAll(async () => {
    t = await startTestInstance({ forms: FORMS, startWorker: false });
    const known = ['contact', 'recruit'];
    await addUser(k(), { email: 'owner@example.jp', role: 'owner', password: CONSOLE_PASSWORD, knownForms: known });
    await addUser(k(), { email: 'member@example.jp', role: 'member', forms: ['recruit'], password: CONSOLE_PASSWORD, knownForms: known });
    const post = async (form: string, fields: Record<string, string>) => {
      const r = await fetch(`${t.url}/api/forms/${form}/submissions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
      expect(r.status).toBe(201);
      return ((await r.json()) as { id: string }).id;
    };
    const contact = await post('contact', { name: `山田 ${HOSTILE}`, email: 'hanako@example.jp', message: `見積もりをお願いします\n${HOSTILE}` });
    const recruit = await post('recruit', { name: '佐藤 一郎', email: 'ichiro@example.jp', message: '応募します' });
    await t.instance.worker.drain(); // capture transport: the raw message is stored
    const byForm = async (id: string) => (await k().selectFrom('outbox').select('id').where('submission_id', '=', id).where('kind', '=', 'notify').executeTakeFirstOrThrow()).id;
    mails.contact = await byForm(contact);
    mails.recruit = await byForm(recruit);
    const alert = outboxRow({ kind: 'alert', submissionId: null, formId: 'recruit', to: 'owner@example.jp', replyTo: null, subject: 'Formwarden alert', body: 'breaker' }, 'info@example.jp', Date.now());
    const hook = outboxRow({ kind: 'webhook', submissionId: recruit, formId: 'recruit', to: 'slack:team', replyTo: null, subject: '', body: JSON.stringify({ text: HOSTILE }) }, 'info@example.jp', Date.now());
    await enqueue(k(), [alert, hook]);
    mails.alert = alert.id;
    mails.webhook = hook.id;
    await k().insertInto('events').values({ id: 'e_0000000000breaker', kind: 'breaker', form_id: 'contact', address: null, at: Date.now() - 60_000, detail: `form:contact: submissions 99 in 600s > limit 20 ${HOSTILE}` }).execute();
    await k().insertInto('events').values({ id: 'e_00000000000alert1', kind: 'alert', form_id: 'contact', address: null, at: Date.now() - 50_000, detail: 'form:contact' }).execute();

    owner = new ConsoleClient(t.url);
    expect((await owner.login('owner@example.jp')).status).toBe(303);
    ownerCsrf = await owner.csrf();
    member = new ConsoleClient(t.url);
    expect((await member.login('member@example.jp')).status).toBe(303);
    memberCsrf = await member.csrf();
  });
  afterAll(async () => {
    await t?.close();
  });

  // Each POST route: its fields, what must hold before, the table it changes, and the change.
  const cases: { path: string; form: () => Record<string, string>; table: Table; before: () => Promise<void>; after: () => Promise<void>; audit: { action: string; target: () => string } }[] = [
    {
      path: `${OPS}/breakers/reset`,
      form: () => ({ form: 'contact' }),
      table: 'breakers',
      before: async () => {
        const now = Date.now();
        const row = { scope: 'form:contact', state: 'open', reason: 'submissions 99 in 600s > limit 20', tripped_at: now, retry_at: now + 3_600_000, updated_at: now };
        await k().insertInto('breakers').values(row).onConflict((oc) => oc.column('scope').doUpdateSet(row)).execute();
        await t.instance.monitor.refresh();
        expect(t.instance.monitor.isOpen('contact')).toBe(true);
      },
      after: async () => {
        const b = await k().selectFrom('breakers').selectAll().where('scope', '=', 'form:contact').executeTakeFirstOrThrow();
        expect(b).toMatchObject({ state: 'closed', reason: '', retry_at: null, tripped_at: null });
        expect(t.instance.monitor.isOpen('contact')).toBe(false); // this process knows at once
      },
      audit: { action: 'breaker_reset', target: () => 'form:contact' },
    },
    {
      path: `${OPS}/ip-lists/add`,
      form: () => ({ cidr: ' ::FFFF:203.0.113.0/120 ', list: 'block', expires: '7d', note: HOSTILE }), // canonical: 203.0.113.0/24
      table: 'ip_rules',
      before: async () => {
        await k().deleteFrom('ip_rules').where('cidr', '=', '203.0.113.0/24').execute();
      },
      after: async () => {
        const r = await k().selectFrom('ip_rules').selectAll().where('cidr', '=', '203.0.113.0/24').executeTakeFirstOrThrow();
        expect(r).toMatchObject({ list: 'block', note: HOSTILE });
        expect(Math.abs(r.expires_at! - (Date.now() + 7 * 86_400_000))).toBeLessThan(600_000);
      },
      audit: { action: 'ip_rule_add', target: () => '203.0.113.0/24' },
    },
    {
      path: `${OPS}/ip-lists/remove`,
      form: () => ({ cidr: '198.51.100.0/24' }),
      table: 'ip_rules',
      before: () => addRule(k(), { cidr: '198.51.100.0/24', list: 'allow', expiresAt: null, note: '' }, Date.now()),
      after: async () => {
        expect(await k().selectFrom('ip_rules').select('cidr').where('cidr', '=', '198.51.100.0/24').execute()).toEqual([]);
      },
      audit: { action: 'ip_rule_remove', target: () => '198.51.100.0/24' },
    },
    {
      path: `${OPS}/bans/lift`,
      form: () => ({ key: '192.0.2.9' }),
      table: 'bans',
      before: async () => {
        const row = { key: '192.0.2.9', until_at: Date.now() + 3_600_000, level: 2, expires_at: Date.now() + 7_200_000 };
        await k().insertInto('bans').values(row).onConflict((oc) => oc.column('key').doUpdateSet(row)).execute();
      },
      after: async () => {
        expect(await k().selectFrom('bans').select('key').where('key', '=', '192.0.2.9').execute()).toEqual([]);
      },
      audit: { action: 'unban', target: () => '192.0.2.9' },
    },
    {
      path: `${OPS}/suppressions/add`,
      form: () => ({ address: 'Victim+tag@Example.jp', note: HOSTILE }),
      table: 'suppressions',
      before: async () => {
        await k().deleteFrom('suppressions').where('address', '=', normalizeAddress('victim@example.jp')).execute();
      },
      after: async () => {
        const r = await k().selectFrom('suppressions').selectAll().where('address', '=', normalizeAddress('Victim+tag@Example.jp')).executeTakeFirstOrThrow();
        expect(r).toMatchObject({ reason: 'owner', note: HOSTILE });
      },
      audit: { action: 'suppress_add', target: () => 'Victim+tag@Example.jp' },
    },
    {
      path: `${OPS}/suppressions/remove`,
      form: () => ({ address: 'gone@example.jp' }),
      table: 'suppressions',
      before: async () => {
        await suppress(k(), 'gone@example.jp', 'link', Date.now());
      },
      after: async () => {
        expect(await k().selectFrom('suppressions').select('address').where('address', '=', 'gone@example.jp').execute()).toEqual([]);
      },
      audit: { action: 'suppress_remove', target: () => 'gone@example.jp' },
    },
    {
      path: `${OPS}/outbox/retry`,
      form: () => ({ id: mails.recruit }),
      table: 'outbox',
      before: async () => {
        await k().updateTable('outbox').set({ state: 'dead', last_error: `550 ${HOSTILE}`, next_attempt_at: 0 }).where('id', '=', mails.recruit).execute();
      },
      after: async () => {
        const r = await k().selectFrom('outbox').selectAll().where('id', '=', mails.recruit).executeTakeFirstOrThrow();
        expect(r.state).toBe('pending');
        expect(r.next_attempt_at).toBeGreaterThan(Date.now() - 600_000);
      },
      audit: { action: 'outbox_retry', target: () => mails.recruit },
    },
  ];

  for (const c of cases) {
    it(`POST ${c.path}: refused without a session, without or with a wrong CSRF token, and for a member (table unchanged); done and audited for the owner`, async () => {
      await c.before();
      const unchanged = await rows(c.table);
      const anon = await new ConsoleClient(t.url).req(c.path, { method: 'POST', form: { ...c.form(), _csrf: ownerCsrf } });
      expect(anon.status).toBe(303);
      expect(anon.headers.get('location')).toBe('/admin/login');
      for (const bad of [{}, { _csrf: 'wrong' }, { _csrf: `${ownerCsrf}x` }, { _csrf: memberCsrf }] as Record<string, string>[]) {
        expect((await owner.req(c.path, { method: 'POST', form: { ...c.form(), ...bad } })).status).toBe(403);
      }
      expect((await owner.req(c.path, { method: 'POST', headers: { 'x-csrf-token': 'wrong' }, form: c.form() })).status).toBe(403);
      expect((await member.req(c.path, { method: 'POST', form: { ...c.form(), _csrf: memberCsrf } })).status).toBe(404);
      expect(await rows(c.table)).toBe(unchanged);
      expect(await audits(c.audit.action)).toEqual([]);

      const ok = await owner.req(c.path, { method: 'POST', form: { ...c.form(), _csrf: ownerCsrf } });
      expect(ok.status).toBe(303);
      expect(ok.headers.get('location')).toMatch(/^\/admin\/operations\/[\w-]+\?done=\w+$/);
      await c.after();
      const a = await audits(c.audit.action);
      expect(a).toHaveLength(1);
      expect(a[0]).toMatchObject({ email: 'owner@example.jp', target: c.audit.target() });
      // The page it sends back to says what happened.
      const back = await owner.req(ok.headers.get('location')!);
      expect(back.status).toBe(200);
      expect(await back.text()).toMatch(/<p class="notice" role="status">[^<]+<\/p>/);
    });
  }

  it('a member gets 404 for every operations page; the owner gets them, with the state and counts', async () => {
    for (const p of ['', '/breakers', '/ip-lists', '/suppressions', '/alerts', '/outbox', '/outbox?state=dead']) {
      expect((await member.req(`${OPS}${p}`)).status).toBe(404);
      expect((await owner.req(`${OPS}${p}`)).status).toBe(200);
    }
    expect((await new ConsoleClient(t.url).req(`${OPS}/outbox`)).status).toBe(303);
    const now = Date.now();
    await k().insertInto('breakers').values({ scope: 'instance', state: 'open', reason: 'recipient domains 40 in 600s > limit 30', tripped_at: now, retry_at: now + 60_000, updated_at: now }).execute();
    const overview = await (await owner.req(OPS)).text();
    expect(overview).toContain(`href="${OPS}/breakers"`);
    expect(overview).toMatch(/停止中 1/);
    const breakers = await (await owner.req(`${OPS}/breakers`)).text();
    expect(breakers).toContain('recipient domains 40 in 600s &gt; limit 30');
    expect(breakers).toContain('submissions 99 in 600s &gt; limit 20'); // the history, from events kind breaker
    expect(breakers).toContain('name="form" value="instance"');
    await owner.req('/admin/lang/en?next=%2Fadmin%2Finbox');
    expect(await (await owner.req(`${OPS}/breakers`)).text()).toContain('<h1>Circuit breakers</h1>');
    await owner.req('/admin/lang/ja?next=%2Fadmin%2Finbox');
  });

  it('block add validates as `formwarden block add` does: a bad address or expiry is 400 with the reason, nothing stored', async () => {
    const before = await rows('ip_rules');
    const bad = await owner.req(`${OPS}/ip-lists/add`, { method: 'POST', form: { _csrf: ownerCsrf, cidr: '<b>not-an-ip', list: 'block', expires: '', note: '' } });
    expect(bad.status).toBe(400);
    const page = await bad.text();
    expect(page).toContain('「&lt;b&gt;not-an-ip」は IP アドレスでも CIDR でもありません');
    expect(page).toContain('value="&lt;b&gt;not-an-ip"'); // what was typed stays in the form
    const soon = await owner.req(`${OPS}/ip-lists/add`, { method: 'POST', form: { _csrf: ownerCsrf, cidr: '2001:db8::/48', list: 'allow', expires: 'soon', note: '' } });
    expect(soon.status).toBe(400);
    expect(await soon.text()).toContain('期限「soon」');
    expect(await rows('ip_rules')).toBe(before);
    const bogus = await owner.req(`${OPS}/suppressions/add`, { method: 'POST', form: { _csrf: ownerCsrf, address: 'a@b@c', note: '' } });
    expect(bogus.status).toBe(400);
  });

  it('hostile notes, subjects, errors and event details are shown as text on every page', async () => {
    await suppress(k(), 'note@example.jp', 'owner', Date.now(), HOSTILE);
    await addRule(k(), { cidr: '100.64.0.0/10', list: 'block', expiresAt: null, note: HOSTILE }, Date.now());
    await k().updateTable('outbox').set({ state: 'dead', last_error: `550 ${HOSTILE}` }).where('id', '=', mails.contact).execute();
    for (const p of ['/suppressions', '/ip-lists', '/outbox?state=dead', '/breakers', '/alerts']) {
      const page = await (await owner.req(`${OPS}${p}`)).text();
      expect(page, p).not.toMatch(/<script>alert|<img src=x/);
    }
    expect(await (await owner.req(`${OPS}/suppressions`)).text()).toContain(`<bdi>${HOSTILE_ESCAPED}</bdi>`);
    const outbox = await (await owner.req(`${OPS}/outbox?state=dead`)).text();
    expect(outbox).toContain(`<bdi>[Contact] 山田 ${HOSTILE_ESCAPED}</bdi>`);
    expect(outbox).toContain(`<bdi>550 ${HOSTILE_ESCAPED}</bdi>`);
    expect(outbox).toContain(`name="id" value="${mails.contact}"`); // retry offered for the dead mail
  });

  it('the mail viewer: decoded headers and text, the source escaped on demand, a webhook its payload', async () => {
    const page = await owner.req(`/admin/mail/${mails.contact}`);
    expect(page.status).toBe(200);
    const body = await page.text();
    expect(body).not.toMatch(/<script>alert|<img src=x/);
    expect(body).toContain(`<dt>件名</dt><dd><bdi>[Contact] 山田 ${HOSTILE_ESCAPED}</bdi></dd>`); // MIME words decoded
    expect(body).toMatch(/<dt>差出人<\/dt><dd><bdi>[^<]*info@example\.jp/);
    expect(body).toMatch(/<div class="mail-text value" dir="auto">[^<]*見積もりをお願いします/);
    expect(body).toContain(`href="/admin/mail/${mails.contact}?raw=1"`);
    const raw = await (await owner.req(`/admin/mail/${mails.contact}?raw=1`)).text();
    expect(raw).toMatch(/<pre class="mail-raw">[^<]*Message-ID: &lt;m_/);
    expect(raw).toMatch(/Subject: =\?UTF-8\?/i);
    expect(raw).not.toMatch(/<script>alert/);
    const hook = await (await owner.req(`/admin/mail/${mails.webhook}`)).text();
    expect(hook).toContain(`<pre class="mail-raw" dir="auto">{&quot;text&quot;:&quot;&lt;script&gt;`);
    expect((await owner.req('/admin/mail/m_nosuchmail')).status).toBe(404);
    expect((await new ConsoleClient(t.url).req(`/admin/mail/${mails.contact}`)).status).toBe(303);
  });

  it('a member opens the mails of their own forms only: another form, an alert: 404', async () => {
    const own = await member.req(`/admin/mail/${mails.recruit}`);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('佐藤 一郎');
    expect((await member.req(`/admin/mail/${mails.webhook}`)).status).toBe(200);
    expect((await member.req(`/admin/mail/${mails.contact}`)).status).toBe(404);
    expect((await member.req(`/admin/mail/${mails.alert}`)).status).toBe(404);
    expect((await owner.req(`/admin/mail/${mails.alert}`)).status).toBe(200);
  });

  it('alert history lists alert events and the alert mails; the suppression list pages by 50', async () => {
    const alerts = await (await owner.req(`${OPS}/alerts`)).text();
    expect(alerts).toContain('<bdi>form:contact</bdi>');
    expect(alerts).toContain(`href="/admin/mail/${mails.alert}"`);
    expect(alerts).not.toContain(`href="/admin/mail/${mails.contact}"`);
    const base = Date.now() - 86_400_000;
    for (let i = 0; i < 60; i++) await suppress(k(), `page${String(i).padStart(2, '0')}@example.jp`, 'bounce', base + i);
    const total = Number((await k().selectFrom('suppressions').select(k().fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const seen = new Set<string>();
    let next: string | undefined = `${OPS}/suppressions`;
    for (let pages = 0; next && pages < 10; pages++) {
      const html: string = await (await owner.req(next)).text();
      const found = [...html.matchAll(/name="address" value="([^"]+)"/g)].map((m) => m[1]!);
      expect(found.length).toBeLessThanOrEqual(50);
      for (const a of found) {
        expect(seen.has(a)).toBe(false);
        seen.add(a);
      }
      next = /rel="next" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    }
    expect(seen.size).toBe(total);
  });
});
