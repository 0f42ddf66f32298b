// Part 2's acceptance, against a real SMTP server and a hand-moved clock: a stranger-list attack
// that passes every bot check, the one-per-24h rule, the single-use "I didn't request this" link,
// the last check before a delayed auto-reply leaves, and caps shared by two server processes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { OPEN_DEFENSES, startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { ManualClock } from '../util/clock.js';

const OWNER = 'owner@example.jp';
const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [${OWNER}], subject: "[Contact] {{name}}", body: "{{name}} <{{email}}>\\n\\n{{message}}" }
    autoreply: { enabled: true, to: email, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}. We will reply soon." }
`;

const SPAM = 'https://spam-pharma.example.ru/buy?id=';

describe.skipIf(dbUnavailable())('relay-proof mail', () => {
  const sink = new SmtpSink();
  let port = 0;
  beforeAll(async () => {
    port = await sink.start();
  });
  afterAll(async () => {
    await sink.stop();
  });
  beforeEach(() => {
    sink.received.length = 0;
  });

  async function start(clock: ManualClock, extra = '', db?: TestDatabase): Promise<TestInstance> {
    return startTestInstance({ forms: FORMS, smtp: `smtp://127.0.0.1:${port}`, clock, startWorker: false, defenses: OPEN_DEFENSES, extra, db });
  }

  /** Posts through the HTTP API exactly as a bot that passes the bot checks would. */
  async function post(t: TestInstance, clock: ManualClock, fields: Record<string, string>, ip = '203.0.113.7'): Promise<{ id: string; receipt: string }> {
    const token = t.instance.defenses.tokens.issueToken('contact', clock.now());
    const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify({ ...fields, _token: token, website: '' }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; receipt: string };
  }

  const victimsOf = () => sink.received.filter((m) => !m.envelopeTo.includes(OWNER));
  const ownerMails = () => sink.received.filter((m) => m.envelopeTo.includes(OWNER));

  it('5,000 stranger-list posts over 24 h: third-party mail within budget and free of the payload, the owner alerted within a minute and sent digests', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 2, 0, 0, 0));
    const t = await start(clock);
    try {
      const k = t.instance.db.kysely;
      const minute = async () => {
        await t.instance.housekeeping();
        await t.instance.worker.drain();
      };
      // Before the attack: two genuine visitors.
      const genuine = [
        await post(t, clock, { name: '山田', email: 'yamada@example.jp', message: '在庫はありますか？' }, '198.51.100.1'),
        await post(t, clock, { name: '佐藤', email: 'sato@example.co.jp', message: '見積もりをお願いします。' }, '198.51.100.2'),
      ];
      for (let i = 0; i < 5; i++) {
        clock.advance(60_000);
        await minute();
      }
      expect(sink.to('yamada@example.jp')).toHaveLength(1);
      expect(sink.to('sato@example.co.jp')).toHaveLength(1);

      // The attack: 5,000 posts, a different victim each (50 domains), the spam URL in every field.
      const attackStart = clock.now().getTime();
      const step = Math.floor((24 * 3_600_000) / 5000);
      let nextMinute = attackStart + 60_000;
      for (let i = 0; i < 5000; i++) {
        const victim = `victim${i}@victim-domain-${i % 50}.example`;
        await post(t, clock, { name: `Cheap pills ${SPAM}${i}`, email: victim, message: `Buy now ${SPAM}${i} http://another-spam.example.com ${i}` }, `192.0.2.${i % 250}`);
        clock.advance(step);
        while (clock.now().getTime() >= nextMinute) {
          await minute();
          nextMinute += 60_000;
        }
      }
      await minute();

      // Third-party mail within the configured budget (100 auto-replies a day for this form) ...
      const victims = victimsOf();
      expect(victims.length).toBeLessThanOrEqual(100);
      for (let d = 0; d < 50; d++) expect(victims.filter((m) => m.envelopeTo[0]!.endsWith(`@victim-domain-${d}.example`)).length).toBeLessThanOrEqual(24 * 5);
      // ... and none of it carries the URL or any part of the payload.
      for (const m of victims) {
        const text = `${m.parsed.subject}\n${m.parsed.text}`;
        expect(text).not.toMatch(/spam|pills|Buy now|example\.ru|another-spam/i);
        expect(m.envelopeTo).toHaveLength(1);
      }

      // The breaker tripped, and the owner's alert was queued within one simulated minute and delivered.
      const trip = await k.selectFrom('events').selectAll().where('kind', '=', 'breaker').orderBy('at').executeTakeFirstOrThrow();
      const alert = await k.selectFrom('outbox').selectAll().where('kind', '=', 'alert').orderBy('created_at').executeTakeFirstOrThrow();
      expect(alert.created_at - trip.at).toBeLessThanOrEqual(60_000);
      expect(alert.to_addr).toBe(OWNER);
      expect(alert.state).toBe('sent');
      expect(alert.body).not.toMatch(/https?:\/\/spam/);
      expect(alert.body).toContain('hxxps://spam-pharma[.]example[.]ru');

      // The owner got digests, not 5,000 mails.
      const owner = ownerMails();
      expect(owner.length).toBeLessThan(1000);
      expect(owner.some((m) => m.parsed.headers.get('x-formwarden-kind') === 'digest')).toBe(true);

      // Every submission is stored with its verdict and what happened to its auto-reply.
      const subs = await k.selectFrom('submissions').select(['autoreply', 'verdict', 'notify']).execute();
      expect(subs).toHaveLength(5002);
      const skipped = subs.filter((s) => s.autoreply.startsWith('skipped:') || s.autoreply.startsWith('cancelled:'));
      expect(skipped.length).toBeGreaterThanOrEqual(5000 - 100);
      expect(new Set(skipped.map((s) => s.autoreply.split(':')[1]))).toContain('breaker');
      expect(subs.every((s) => JSON.parse(s.verdict).action === 'accept')).toBe(true);

      // After the attack the breaker closes again, and a genuine visitor gets an auto-reply.
      for (let i = 0; i < 150; i++) {
        clock.advance(60_000);
        await minute();
      }
      expect(t.instance.monitor.isOpen('contact')).toBe(false);
      const after = await post(t, clock, { name: '鈴木', email: 'suzuki@example.jp', message: '営業時間を教えてください。' }, '198.51.100.3');
      for (let i = 0; i < 3; i++) {
        clock.advance(60_000);
        await minute();
      }
      expect(sink.to('suzuki@example.jp')).toHaveLength(1);
      expect(sink.to('suzuki@example.jp')[0]!.parsed.text).toContain(after.receipt);
      expect(genuine).toHaveLength(2);
    } finally {
      await t.close();
    }
  }, 1_200_000); // 5,000 posts: 30 s on a quiet machine, over 500 s on PostgreSQL on a loaded 2-core one

  it('repeated submissions to one address: exactly one auto-reply per 24 h', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 3, 0, 0, 0));
    const t = await start(clock);
    try {
      for (let i = 0; i < 6; i++) {
        await post(t, clock, { name: 'Repeat', email: i % 2 ? 'Repeat.Visitor+x@GMAIL.com' : 'repeatvisitor@gmail.com', message: `attempt ${i}` });
        clock.advance(3 * 3_600_000);
        await t.instance.worker.drain();
      }
      expect(sink.received.filter((m) => m.envelopeTo[0]!.toLowerCase().includes('visitor')).length).toBe(1);
      clock.advance(7 * 3_600_000); // 25 h after the first
      await post(t, clock, { name: 'Repeat', email: 'repeatvisitor@gmail.com', message: 'next day' });
      clock.advance(3 * 60_000);
      await t.instance.worker.drain();
      expect(sink.received.filter((m) => m.envelopeTo[0]!.toLowerCase().includes('visitor')).length).toBe(2);
      const states = (await t.instance.db.kysely.selectFrom('submissions').select('autoreply').orderBy('created_at').execute()).map((r) => r.autoreply);
      expect(states).toEqual(['queued', 'skipped:cap:address', 'skipped:cap:address', 'skipped:cap:address', 'skipped:cap:address', 'skipped:cap:address', 'queued']);
    } finally {
      await t.close();
    }
  });

  it('"I didn\'t request this" works once, suppresses the address and counts as an abuse signal', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 4, 0, 0, 0));
    const t = await start(clock);
    try {
      await post(t, clock, { name: 'A', email: 'victim@example.org', message: 'hello' });
      clock.advance(3 * 60_000);
      await t.instance.worker.drain();
      const mail = sink.to('victim@example.org')[0]!;
      const head = mail.raw.toString().split('\r\n\r\n')[0]!.replace(/\r\n\s+/g, ' ');
      expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
      const link = /http:\/\/127\.0\.0\.1:8787(\/u\/[A-Za-z0-9_.-]+)/.exec(mail.parsed.text ?? '')![1]!;
      expect(head).toContain(`List-Unsubscribe: <http://127.0.0.1:8787${link}>`);

      const page = await fetch(`${t.url}${link}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<form method="post"');
      // GET alone changes nothing (mail scanners follow links).
      expect(await t.instance.db.kysely.selectFrom('suppressions').selectAll().execute()).toHaveLength(0);

      const first = await fetch(`${t.url}${link}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(await first.text()).toContain('今後このアドレスには自動返信を送りません');
      const second = await fetch(`${t.url}${link}`, { method: 'POST' });
      expect(await second.text()).toContain('この手続きはすでに完了しています');
      const forged = await fetch(`${t.url}${link.slice(0, -2)}xx`, { method: 'POST' });
      expect(forged.status).toBe(404);

      const supp = await t.instance.db.kysely.selectFrom('suppressions').selectAll().execute();
      expect(supp.map((s) => [s.address, s.reason])).toEqual([['victim@example.org', 'link']]);
      const signals = await t.instance.db.kysely.selectFrom('events').selectAll().where('kind', '=', 'abuse_link').execute();
      expect(signals).toHaveLength(1);
      expect((await t.instance.monitor.stats('contact', 0, clock.now().getTime())).bounces).toBe(1);

      clock.advance(25 * 3_600_000);
      await post(t, clock, { name: 'A', email: 'victim@example.org', message: 'again' });
      const last = await t.instance.db.kysely.selectFrom('submissions').select('autoreply').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      expect(last.autoreply).toBe('skipped:suppressed');
    } finally {
      await t.close();
    }
  });

  it('a delayed auto-reply is checked again before it leaves: suppression and bursts cancel it and refund its caps', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 5, 0, 0, 0));
    const t = await start(clock);
    const k = t.instance.db.kysely;
    try {
      await post(t, clock, { name: 'B', email: 'late@example.net', message: 'hello there' });
      const pending = await k.selectFrom('outbox').selectAll().where('kind', '=', 'autoreply').executeTakeFirstOrThrow();
      expect(pending.next_attempt_at - pending.created_at).toBe(120_000);
      await t.instance.worker.drain();
      expect(sink.to('late@example.net')).toHaveLength(0);
      expect(await k.selectFrom('relay_charges').selectAll().where('outbox_id', '=', pending.id).execute()).not.toHaveLength(0);
      await import('./suppression.js').then((m) => m.suppress(k, 'late@example.net', 'owner', clock.now().getTime()));
      clock.advance(120_000);
      await t.instance.worker.drain();
      expect(sink.to('late@example.net')).toHaveLength(0);
      expect((await k.selectFrom('outbox').select(['state', 'last_error']).where('id', '=', pending.id).executeTakeFirstOrThrow())).toEqual({ state: 'cancelled', last_error: 'suppressed' });
      expect(await k.selectFrom('relay_charges').selectAll().where('outbox_id', '=', pending.id).execute()).toHaveLength(0);

      const same = 'Please call me back about the offer we discussed yesterday.';
      for (let i = 0; i < 3; i++) await post(t, clock, { name: 'C', email: `burst${i}@burst${i}.example`, message: same });
      clock.advance(120_000);
      await t.instance.worker.drain();
      const burst = await k.selectFrom('submissions').select('autoreply').where('autoreply_to', 'like', 'burst%').execute();
      expect(burst.map((b) => b.autoreply)).toEqual(['cancelled:burst', 'cancelled:burst', 'cancelled:burst']);
    } finally {
      await t.close();
    }
  });

  it('caps hold across two server processes sharing the database and Redis (no double spending)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 6, 0, 0, 0));
    const db = await createTestDatabase();
    const redis = `redis: { url: "redis://127.0.0.1:6379", keyPrefix: "fw:test:${randomUUID()}:" }`;
    const a = await start(clock, redis, db);
    const b = await start(clock, redis, db);
    try {
      // 20 posts to one address and 20 to distinct addresses of one domain, alternating processes, in parallel.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(i % 2 ? a : b, clock, { name: 'P', email: 'shared@one.example', message: `x ${i}` })),
      );
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(i % 2 ? a : b, clock, { name: 'P', email: `user${i}@domain.example`, message: `y ${i}` })),
      );
      const k = a.instance.db.kysely;
      const queued = await k.selectFrom('outbox').select('to_addr').where('kind', '=', 'autoreply').execute();
      expect(queued.filter((q) => q.to_addr === 'shared@one.example')).toHaveLength(1);
      expect(queued.filter((q) => q.to_addr.endsWith('@domain.example'))).toHaveLength(5); // 5 per domain and hour
      expect(queued).toHaveLength(6);
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  });
});
