// Property test (issue 10, class 6): someone who received a few of our auto-replies knows their VERP
// addresses and Message-IDs, and can send anything there. Whatever family of reports they forge (hard,
// soft, delayed DSNs and ARF complaints, mixed and repeated; DSNs claiming other addresses; messages that
// are no report at all), through the SMTP receiver or the mailbox path (matched by the VERP address in the
// headers, or by the returned Message-ID):
// - no address is suppressed but those rows' own recipients (never the customers a report claims);
// - one row yields at most one bounce/complaint signal, and a row that got no failure or complaint report
//   yields none (what counted nothing is recorded as ignored);
// - the breaker does not trip while the signals come from fewer recipient domains than
//   monitor.form.bounceDomains, or are no more than monitor.form.bounces, or under bounceShare of the
//   auto-replies sent.
import fc from 'fast-check';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../../test/support/db.js';
import { OPEN_DEFENSES, startTestInstance, type TestInstance } from '../../../test/support/instance.js';
import { ManualClock } from '../../util/clock.js';
import { ingestBounce } from '../ingest.js';

const LIMIT = 3; // monitor.form.bounces (and instance) in this test: the breaker's count rule is easy to reach
const FORM = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp] }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}", caps: { perAddress: null, perDomain: null, perFormHour: null, perFormDay: null } }
`;
const MONITOR = `monitor:
  factor: 1000
  form: { bounces: ${LIMIT}, submissions: 100000, autoreplies: 100000, recipientDomains: 100000 }
  instance: { bounces: ${LIMIT}, submissions: 100000, autoreplies: 100000, recipientDomains: 100000 }
bounces:
  verp: { domain: bounce.example.jp }
  smtp: { port: 0, perClientPerMinute: 100000 }
`;

type Shape = 'dsn' | 'arf' | 'junk' | 'vacation';
type Via = 'smtp' | 'mailbox-verp' | 'mailbox-message-id';
interface Forged {
  row: number;
  shape: Shape;
  via: Via;
  /** Who the report claims failed or complained: the row's recipient, a customer, or anyone. */
  claims: { kind: 'row' } | { kind: 'customer'; i: number } | { kind: 'other'; address: string };
  extraClaims: number;
  status: string;
  action: string;
  junk: { subject: string; body: string };
  repeat: number;
}

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
const forged: fc.Arbitrary<Forged> = fc.record({
  row: fc.nat(20),
  shape: fc.constantFrom<Shape>('dsn', 'dsn', 'arf', 'junk', 'vacation'),
  via: fc.constantFrom<Via>('smtp', 'mailbox-verp', 'mailbox-message-id'),
  claims: fc.oneof(
    fc.constant({ kind: 'row' as const }),
    fc.nat(20).map((i) => ({ kind: 'customer' as const, i })),
    fc.tuple(word, word).map(([l, d]) => ({ kind: 'other' as const, address: `${l}@${d}.example` })),
  ),
  extraClaims: fc.nat(2),
  status: fc.constantFrom('5.1.1', '5.1.2', '5.2.2', '5.2.1', '5.7.1', '5.0.0', '4.2.2', '4.4.7', '4.0.0', '2.0.0'),
  action: fc.constantFrom('failed', 'failed', 'delayed', 'delivered', 'relayed', 'Failed'),
  junk: fc.record({
    subject: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('Undelivered Mail Returned to Sender', 'Delivery Status Notification (Failure)', 'Mail delivery failed', 'Re: Thank you', 'spam complaint')),
    body: fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.tuple(word, word).map(([l, d]) => `The following address failed:\n\n  ${l}@${d}.example\n    550 5.1.1 User unknown\n`),
      fc.constant('This is the mail system at host mx.example.\n\n<victim@example.org>: host mx said: 550 5.1.1 no such user (in reply to RCPT TO command)\n'),
    ),
  }),
  repeat: fc.integer({ min: 1, max: 3 }),
});

const scenario = fc.record({
  /** How many auto-replies the attacker received, and at how many domains. */
  rows: fc.integer({ min: 1, max: 8 }),
  domains: fc.integer({ min: 1, max: 5 }),
  /** Auto-replies sent to genuine customers in the same window. */
  customers: fc.integer({ min: 0, max: 30 }),
  /** First one hard DSN for every row (the most a burst can do), then the mix. */
  burst: fc.boolean(),
  messages: fc.array(forged, { minLength: 1, maxLength: 12 }),
});

const CRLF = (lines: string[]) => lines.join('\r\n');

function original(to: string, messageId: string): string[] {
  return ['From: Example Shop <info@example.jp>', `To: ${to}`, `Message-ID: ${messageId}`, 'Subject: Thank you from Example Shop'];
}

function dsn(to: string, claimed: string[], f: Forged, messageId: string | null, n: number): string {
  const code = f.status.startsWith('5') ? '550' : f.status.startsWith('4') ? '450' : '250';
  return CRLF([
    'From: MAILER-DAEMON@mx.forger.example (Mail Delivery System)',
    `To: ${to}`,
    'Subject: Undelivered Mail Returned to Sender',
    `Message-ID: <forged-${n}@mx.forger.example>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    ...claimed.map((c) => `<${c}>: host mx.forger.example said: ${code} ${f.status} User unknown (in reply to RCPT TO command)`),
    '--b',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.forger.example',
    ...claimed.flatMap((c) => ['', `Final-Recipient: rfc822; ${c}`, `Action: ${f.action}`, `Status: ${f.status}`, `Diagnostic-Code: smtp; ${code} ${f.status} <${c}>: User unknown`]),
    ...(messageId ? ['--b', 'Content-Type: text/rfc822-headers', '', ...original(claimed[0]!, messageId)] : []),
    '--b--',
    '',
  ]);
}

function arf(to: string, claimed: string[], messageId: string | null, n: number): string {
  return CRLF([
    'From: feedback@fbl.forger.example',
    `To: ${to}`,
    'Subject: Abuse report',
    `Message-ID: <arf-${n}@fbl.forger.example>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="a"',
    '',
    '--a',
    'Content-Type: text/plain',
    '',
    'This is an email abuse report.',
    '--a',
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    'User-Agent: Forger/1.0',
    'Version: 1',
    ...claimed.map((c) => `Original-Rcpt-To: ${c}`),
    '',
    ...(messageId ? ['--a', 'Content-Type: text/rfc822-headers', '', ...original(claimed[0]!, messageId)] : []),
    '--a--',
    '',
  ]);
}

function junk(to: string, f: Forged, n: number): string {
  return CRLF([`From: someone${n}@forger.example`, `To: ${to}`, `Subject: ${f.junk.subject.replace(/[\r\n]/g, ' ')}`, `Message-ID: <junk-${n}@forger.example>`, '', f.junk.body.replace(/\r?\n/g, '\r\n'), '']);
}

function vacation(to: string, n: number): string {
  return CRLF([`From: away${n}@forger.example`, `To: ${to}`, 'Subject: Out of office', 'Auto-Submitted: auto-replied', `Message-ID: <away-${n}@forger.example>`, '', 'I am away until Monday.', '']);
}

describe.skipIf(dbUnavailable())('forged bounce reports', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ clock, startWorker: false, defenses: OPEN_DEFENSES, forms: FORM, extra: MONITOR });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function post(email: string): Promise<string> {
    clock.advance(1000);
    const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
      body: JSON.stringify({ name: 'N', email, message: 'hello', _token: t.instance.defenses.tokens.issueToken('contact', clock.now()), website: '' }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  it('suppress only the rows\' own recipients, count at most one signal per row, and trip nothing under the thresholds', async () => {
    const k = t.instance.db.kysely;
    const verp = t.instance.verp!;
    const rx = t.instance.bounceReceiver!;
    const smtp = nodemailer.createTransport({ host: rx.host, port: rx.port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1 });
    const limits = t.instance.config.monitor.form;
    let run = 0;
    let n = 0;
    const everOwn = new Set<string>();
    try {
      await fc.assert(
        fc.asyncProperty(scenario, async (sc) => {
          // A fresh window, after the previous run's breaker cool-down; breakers closed.
          clock.advance(2 * 86_400_000);
          run++;
          await t.instance.monitor.reset('form:contact');
          await t.instance.monitor.reset('instance');
          const attacker = Array.from({ length: sc.rows }, (_, j) => `me${j}@att${run}-${j % sc.domains}.example`);
          const customers = Array.from({ length: sc.customers }, (_, i) => `customer${i}@cust${run}-${i}.example`);
          const ids: string[] = [];
          for (const a of attacker) ids.push(await post(a));
          for (const c of customers) await post(c);
          await t.instance.worker.drain();
          const rows: { id: string; to_addr: string; message_id: string; state: string }[] = [];
          for (const id of ids) rows.push(await k.selectFrom('outbox').select(['id', 'to_addr', 'message_id', 'state']).where('submission_id', '=', id).where('kind', '=', 'autoreply').executeTakeFirstOrThrow());
          expect(rows.every((r) => r.state === 'sent')).toBe(true);

          const countable = new Set<string>();
          const ignoredRows = new Set<string>();
          const burst: Forged[] = sc.burst ? rows.map((_, row) => ({ ...sc.messages[0]!, row, shape: 'dsn', via: 'smtp', claims: { kind: 'row' }, status: '5.1.1', action: 'failed', repeat: 1 })) : [];
          for (const f of [...burst, ...sc.messages]) {
            const row = rows[f.row % rows.length]!;
            const claimed = [
              f.claims.kind === 'row' ? row.to_addr : f.claims.kind === 'customer' ? (customers[f.claims.i % Math.max(1, customers.length)] ?? 'nobody@cust.example') : f.claims.address,
              ...customers.slice(0, f.extraClaims),
            ];
            const verpAddress = verp.address(row.id)!;
            // Through the mailbox without VERP headers, only the returned Message-ID names the row.
            const to = f.via === 'mailbox-message-id' ? 'bounces@example.jp' : verpAddress;
            const withId = f.via === 'mailbox-message-id' || f.row % 2 === 0 ? row.message_id : null;
            n++;
            const raw =
              f.shape === 'dsn' ? dsn(to, claimed, f, withId, n) : f.shape === 'arf' ? arf(to, claimed, withId, n) : f.shape === 'junk' ? junk(to, f, n) : vacation(to, n);
            const failure = f.shape === 'arf' || (f.shape === 'dsn' && f.action.toLowerCase() === 'failed' && /^[45]/.test(f.status));
            if (failure) countable.add(row.id);
            else if (f.via !== 'mailbox-message-id') ignoredRows.add(row.id);
            for (let r = 0; r < f.repeat; r++) {
              clock.advance(1000);
              if (f.via === 'smtp') {
                const info = await smtp.sendMail({ envelope: { from: '', to: [verpAddress] }, raw });
                expect(info.response).toMatch(/^250 /);
              } else {
                await ingestBounce(k, clock, Buffer.from(raw), t.instance.config.bounces.softLimit, { verp });
              }
            }
          }

          // Only the attacker's own rows' recipients can be suppressed.
          const own = new Set(rows.map((r) => r.to_addr.toLowerCase()));
          for (const a of own) everOwn.add(a);
          const suppressed = (await k.selectFrom('suppressions').select('address').execute()).map((s) => s.address.toLowerCase());
          for (const c of customers) expect(suppressed).not.toContain(c.toLowerCase());
          for (const s of suppressed) expect(everOwn.has(s), s).toBe(true);

          // One signal per row at most, only for rows a failure or complaint report named.
          const events = await k.selectFrom('events').select(['kind', 'address', 'detail']).where('kind', 'in', ['bounce', 'complaint']).execute();
          const mine = events.filter((e) => rows.some((r) => e.detail.includes(r.id)) || customers.includes(e.address ?? ''));
          const perRow = new Map<string, number>();
          for (const e of mine) {
            const outbox = (JSON.parse(e.detail) as { outbox: string }).outbox;
            expect(rows.map((r) => r.id)).toContain(outbox);
            expect(own.has((e.address ?? '').toLowerCase())).toBe(true);
            perRow.set(outbox, (perRow.get(outbox) ?? 0) + 1);
          }
          for (const [id, count] of perRow) {
            expect(count).toBe(1);
            expect(countable.has(id)).toBe(true);
          }
          // What counted nothing is visible as ignored.
          const ignored = await k.selectFrom('events').select('detail').where('kind', '=', 'bounce_ignored').execute();
          for (const id of ignoredRows) if (!countable.has(id)) expect(ignored.some((e) => e.detail.includes(id))).toBe(true);

          // Under any one threshold, nothing trips.
          const signals = perRow.size;
          const domains = new Set(rows.filter((r) => perRow.has(r.id)).map((r) => r.to_addr.split('@')[1])).size;
          const sent = rows.length + customers.length;
          const under = signals <= LIMIT || domains < limits.bounceDomains || signals < limits.bounceShare * sent;
          const trips = (await t.instance.monitor.tick()).filter((x) => x.kind !== 'attack');
          if (under) expect(trips.map((x) => `${x.scope}: ${x.reason}`)).toEqual([]);
          else expect(trips.map((x) => x.scope)).toContain('form:contact');
        }),
        { numRuns: 10 },
      );
    } finally {
      smtp.close();
    }
  }, 300_000);
});
