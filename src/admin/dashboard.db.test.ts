// Issue #11 item 5: the dashboard's numbers. A known mix of submissions (and cap charges, bounces, breaker
// trips) is stored at fixed times; GET /admin/dashboard must show exactly those counts per hour, per day and
// per outcome in its accessible tables, in the instance's time zone (Asia/Kolkata, +5:30: local hours do not
// start on UTC hours). A member sees only their form's numbers; the page has no script and every chart a title.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capKeys } from '../relay/caps.js';
import { capPolicyFor } from '../submissions/accept.js';
import { ConsoleClient } from '../../test/support/console-client.js';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';
import { CACHE_MS, DAY_MS, HOUR_MS } from './dashboard.js';
import { addUser } from './users.js';

const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}" }
    autoreply: { enabled: true, to: email, subject: "Thanks", body: "Receipt {{receipt_id}}", caps: { perFormHour: 7, perFormDay: 30 } }
  - id: recruit
    title: { ja: 採用, en: Jobs }
    fields:
      - { name: name, type: text, required: true, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, label: { ja: 志望動機, en: Why us } }
    notify: { to: [hr@example.jp], subject: "[Jobs] {{name}}" }
`;
const ZONE_OFFSET = 5.5 * HOUR_MS; // Asia/Kolkata, no daylight saving
const ACTIONS = ['accept', 'accept_no_autoreply', 'quarantine', 'reject'] as const;
type Action = (typeof ACTIONS)[number];
interface Row {
  form: 'contact' | 'recruit';
  /** Minutes before now. */
  ago: number;
  action: Action;
  ip?: string;
  symbols?: string[];
}

const hourStart = (t: number) => Math.floor((t + ZONE_OFFSET) / HOUR_MS) * HOUR_MS - ZONE_OFFSET;
const dayStart = (t: number) => Math.floor((t + ZONE_OFFSET) / DAY_MS) * DAY_MS - ZONE_OFFSET;

/** The rows of an accessible table: the row's key (data-key / data-scope, else its header cell) -> its numeric cells in order. */
function table(page: string, id: string): Map<string, number[]> {
  const m = new RegExp(`<table id="${id}"[^>]*>([\\s\\S]*?)</table>`).exec(page);
  if (!m) throw new Error(`no table ${id}`);
  const body = m[1]!.slice(m[1]!.indexOf('<tbody>'));
  const out = new Map<string, number[]>();
  for (const tr of body.matchAll(/<tr( data-(?:key|scope)="([^"]*)")?[^>]*>([\s\S]*?)<\/tr>/g)) {
    const key = tr[2] ?? /<th scope="row">([^<]*)<\/th>/.exec(tr[3]!)![1]!;
    out.set(key, [...tr[3]!.matchAll(/<td[^>]*>(\d+)<\/td>/g)].map((x) => Number(x[1])));
  }
  return out;
}

/** A bucket's label as the page shows it: local (+5:30) "YYYY-MM-DD HH:MM" for hours, "YYYY-MM-DD" for days. */
const local = (t: number) => new Date(t + ZONE_OFFSET).toISOString();
const hourLabel = (t: number) => `${local(t).slice(0, 10)} ${local(t).slice(11, 16)}`;
const dayLabel = (t: number) => local(t).slice(0, 10);

/** What the tables must say for these rows seen at `now`: per hour (48) and per local day (30). */
function expected(rows: Row[], now: number) {
  const hourly = new Map<string, number[]>();
  const daily = new Map<string, number[]>();
  const firstHour = hourStart(now) - 47 * HOUR_MS;
  const firstDay = dayStart(now) - 29 * DAY_MS;
  for (let i = 0; i < 48; i++) hourly.set(hourLabel(firstHour + i * HOUR_MS), [0, 0, 0, 0, 0]);
  for (let i = 0; i < 30; i++) daily.set(dayLabel(firstDay + i * DAY_MS), [0, 0, 0, 0, 0]);
  for (const r of rows) {
    const at = now - r.ago * 60_000;
    for (const c of [hourly.get(hourLabel(hourStart(at))), daily.get(dayLabel(at))]) {
      if (c) {
        c[ACTIONS.indexOf(r.action)]!++;
        c[4]!++;
      }
    }
  }
  return { hourly, daily };
}

describe.skipIf(dbUnavailable())('the dashboard', () => {
  let t: TestInstance;
  const clock = new ManualClock(Date.UTC(2026, 0, 20, 5, 10));
  let seq = 0;
  const owner = () => new ConsoleClient(t.url);

  const store = async (rows: Row[]) => {
    const k = t.instance.db.kysely;
    const now = clock.now().getTime();
    const values = rows.map((r) => ({
      id: `s_dash${String(seq++).padStart(8, '0')}`,
      form_id: r.form,
      created_at: now - r.ago * 60_000,
      ip: r.ip ?? '198.51.100.7',
      user_agent: '',
      lang: 'ja',
      fields: '{}',
      action: r.action,
      score: 0,
      verdict: JSON.stringify({ symbols: (r.symbols ?? []).map((symbol) => ({ symbol, score: 1 })) }),
      autoreply: 'none',
      notify: 'none',
      content_hash: '',
      autoreply_to: null,
    }));
    for (let i = 0; i < values.length; i += 200) await k.insertInto('submissions').values(values.slice(i, i + 200)).execute();
  };

  beforeAll(async () => {
    t = await startTestInstance({ forms: FORMS, startWorker: false, clock, extra: 'timeZone: Asia/Kolkata' });
    const k = t.instance.db.kysely;
    await addUser(k, { email: 'owner@example.jp', role: 'owner', password: 'correct horse battery', knownForms: ['contact', 'recruit'] });
    await addUser(k, { email: 'member@example.jp', role: 'member', forms: ['recruit'], password: 'correct horse battery', knownForms: ['contact', 'recruit'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('shows the stored mix per hour, per day and per outcome; a member sees only their form; no script; every chart has a title', async () => {
    const k = t.instance.db.kysely;
    const now = clock.now().getTime();
    const mix: Row[] = [
      ...Array.from({ length: 3 }, (): Row => ({ form: 'contact', ago: 20, action: 'accept', ip: '203.0.113.5', symbols: ['TOKEN_MISSING'] })),
      ...Array.from({ length: 2 }, (): Row => ({ form: 'contact', ago: 50, action: 'quarantine', ip: '203.0.113.77', symbols: ['TOKEN_MISSING', 'HONEYPOT_FILLED'] })),
      { form: 'contact', ago: 5 * 60, action: 'reject', ip: '2001:db8:aa:1::5', symbols: ['HONEYPOT_FILLED'] },
      ...Array.from({ length: 4 }, (): Row => ({ form: 'contact', ago: 47 * 60, action: 'accept_no_autoreply' })),
      ...Array.from({ length: 7 }, (): Row => ({ form: 'contact', ago: 3 * 1440, action: 'accept' })),
      ...Array.from({ length: 5 }, (): Row => ({ form: 'contact', ago: 40 * 1440, action: 'accept' })), // outside every window
      ...Array.from({ length: 2 }, (): Row => ({ form: 'recruit', ago: 90, action: 'accept', ip: '192.0.2.10' })),
      { form: 'recruit', ago: 100, action: 'reject', ip: '192.0.2.11' },
      ...Array.from({ length: 3 }, (): Row => ({ form: 'recruit', ago: 10 * 1440, action: 'quarantine', ip: '192.0.2.12' })),
    ];
    await store(mix);
    // Four auto-replies charged to the contact form's caps in the last hour (two to one address), one 2 days ago.
    const policy = capPolicyFor(t.instance.config, t.instance.config.forms[0]!);
    const charges = [
      { to: 'a@example.com', ago: 5 },
      { to: 'a@example.com', ago: 10 },
      { to: 'b@example.net', ago: 30 },
      { to: 'c@example.org', ago: 40 },
      { to: 'd@example.org', ago: 2 * 1440 },
    ];
    for (const [i, c] of charges.entries()) {
      await k.insertInto('outbox').values({ id: `o_dash${i}`, submission_id: null, form_id: 'contact', kind: 'autoreply', to_addr: c.to, reply_to: null, subject: 's', body: 'b', message_id: `<m${i}@x>`, state: 'sent', attempts: 1, next_attempt_at: 0, locked_until: null, locked_by: null, last_error: null, created_at: now - c.ago * 60_000, sent_at: now, raw: null, transport: 'capture' }).execute();
      await k.insertInto('relay_charges').values(capKeys('contact', c.to, policy).map((key) => ({ key: key.key, outbox_id: `o_dash${i}`, at: now - c.ago * 60_000 }))).execute();
    }
    // Bounces: two "userunknown" of auto-replies (contact), one complaint about a notification (recruit).
    const ev = (id: string, kind: string, form: string, detail: object, ago: number) => ({ id, kind, form_id: form, address: 'x@example.com', at: now - ago * 60_000, detail: JSON.stringify(detail) });
    await k.insertInto('events').values([
      ev('sig_1', 'bounce', 'contact', { outbox: 'o_dash0', kind: 'autoreply', reason: 'userunknown', hard: true }, 60),
      ev('sig_2', 'bounce', 'contact', { outbox: 'o_dash1', kind: 'autoreply', reason: 'userunknown', hard: true }, 2 * 1440),
      ev('sig_3', 'complaint', 'recruit', { outbox: 'o_x', kind: 'notify', reason: 'feedback' }, 300),
      ev('sig_old', 'bounce', 'contact', { kind: 'autoreply', reason: 'mailboxfull' }, 45 * 1440),
      { id: 'e_br1', kind: 'breaker', form_id: 'contact', address: null, at: now - 2 * 1440 * 60_000, detail: 'form:contact: autoreplies 40 > 30 in 600s' },
      { id: 'e_br2', kind: 'breaker', form_id: null, address: null, at: now - 3 * 60 * 60_000, detail: 'instance: bounce share 0.4' },
    ]).execute();
    await k.insertInto('breakers').values({ scope: 'instance', state: 'open', reason: 'bounce share 0.4', tripped_at: now - 3 * 60 * 60_000, retry_at: now + 60_000, updated_at: now }).execute();

    const c = owner();
    expect((await c.login('owner@example.jp')).status).toBe(303);
    const res = await c.req('/admin/dashboard');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy') ?? '').not.toMatch(/unsafe-inline.*script|script-src[^;]*unsafe/);
    const page = await res.text();

    const want = expected(mix, now);
    expect(table(page, 't-hourly')).toEqual(want.hourly);
    expect(table(page, 't-daily')).toEqual(want.daily);
    // Spot checks against the mix itself, so the expectation helper cannot hide a mistake.
    expect(want.hourly.get(hourLabel(hourStart(now - 20 * 60_000)))![0]).toBe(3);
    expect([...want.daily.values()].reduce((s, r) => s + r[4]!, 0)).toBe(mix.length - 5);

    // Caps: the form's hourly cap used 4 of 7, daily 4 of 30 (the one 2 days ago is outside); the busiest
    // address has 2; the instance budget shows the same 4 this hour (owner only).
    const caps = table(page, 't-caps');
    expect(caps.get('form-hour')).toEqual([4, 7]);
    expect(caps.get('form-day')).toEqual([4, 30]);
    expect(caps.get('address')?.[0]).toBe(2);
    expect(caps.get('global-hour')?.[0]).toBe(4);
    // Bounces by reason and origin, the labels from the bounce report's.
    expect(table(page, 't-reasons')).toEqual(new Map([['userunknown', [2]], ['complaint', [1]]]));
    expect(table(page, 't-origins')).toEqual(new Map([['autoreply', [2]], ['notify', [1]]]));
    expect(page).toContain('宛先なし'); // REASON_LABEL.userunknown.ja
    // Breaker now and its trips with their reasons.
    expect(page).toMatch(/<tr data-scope="instance" data-state="open">/);
    expect(page).toContain('autoreplies 40 &gt; 30 in 600s');
    expect([...table(page, 't-trips').values()].reduce((s, r) => s + r[0]!, 0)).toBe(2);
    // Top symbols (readable labels) and networks.
    expect(table(page, 't-symbols').get('TOKEN_MISSING')).toEqual([5]);
    expect(table(page, 't-symbols').get('HONEYPOT_FILLED')).toEqual([3]);
    expect(table(page, 't-networks').get('203.0.113.0/24')).toEqual([5]);
    expect(table(page, 't-networks').get('2001:db8:aa::/48')).toEqual([1]);

    // No script of any kind; every chart is an image with a title.
    expect(page).not.toMatch(/<script|\son[a-z]+=|javascript:|style="/i);
    const svgs = page.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.length).toBeGreaterThanOrEqual(8);
    for (const svg of svgs) expect(svg).toMatch(/^<svg [^>]*role="img"[^>]*><title id="[^"]+">[^<]+<\/title>/);

    // A member (recruit only): their form's counts, no instance breaker, no instance budget, no contact caps.
    const m = new ConsoleClient(t.url);
    expect((await m.login('member@example.jp')).status).toBe(303);
    const mp = await (await m.req('/admin/dashboard')).text();
    const mine = expected(mix.filter((r) => r.form === 'recruit'), now);
    expect(table(mp, 't-hourly')).toEqual(mine.hourly);
    expect(table(mp, 't-daily')).toEqual(mine.daily);
    expect(mp).not.toContain('id="t-caps"');
    expect(table(mp, 't-reasons')).toEqual(new Map([['complaint', [1]]]));
    expect(mp).not.toContain('data-scope="instance"');
    expect(mp).not.toContain('203.0.113.0/24');
    expect(table(mp, 't-networks').get('192.0.2.0/24')).toEqual([6]);
    // The same figures as JSON, kept to the member's forms too.
    const json = (await (await m.req('/admin/dashboard.json')).json()) as { hourly: { counts: Record<string, number> }[]; owner: boolean; caps: unknown[] };
    expect(json.owner).toBe(false);
    expect(json.caps).toEqual([]);
    expect(json.hourly.reduce((s, b) => s + Object.values(b.counts).reduce((x, y) => x + y, 0), 0)).toBe(3);
  });

  it('any mix of times and outcomes is counted exactly (property)', async () => {
    const k = t.instance.db.kysely;
    const row = fc.record({
      form: fc.constantFrom('contact' as const, 'recruit' as const),
      // Up to 35 days back, including the edges of the windows.
      ago: fc.oneof(fc.integer({ min: 0, max: 35 * 1440 }), fc.constantFrom(0, 47 * 60, 48 * 60, 29 * 1440, 30 * 1440)),
      action: fc.constantFrom(...ACTIONS),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 40 }), fc.integer({ min: 0, max: 1440 }), async (rows, minutes) => {
        await k.deleteFrom('submissions').execute();
        // A new moment (and past the cache): anywhere in the day, so the local hour and day edges move.
        clock.advance(CACHE_MS + minutes * 60_000);
        await store(rows);
        const c = owner();
        await c.login('owner@example.jp');
        const page = await (await c.req('/admin/dashboard')).text();
        const want = expected(rows, clock.now().getTime());
        expect(table(page, 't-hourly')).toEqual(want.hourly);
        expect(table(page, 't-daily')).toEqual(want.daily);
      }),
      { numRuns: 12 },
    );
  });
});
