// Issue 10, classes 1 and 2, through the real intake (HTTP API, database, outbox worker, a real SMTP
// server): a stranger's To: header never carries the visitor's '+tag' or other chosen words, routing
// syntax gets no auto-reply (the owner is still told), and every spelling of one mailbox shares one
// budget and one suppression entry.
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseEmail } from '../forms/email.js';
import { asciiPayload, mailboxName, recipientDomain, routingLocal, variantOf, variantOpts } from '../../test/support/addresses.js';
import { dbUnavailable } from '../../test/support/db.js';
import { OPEN_DEFENSES, startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { SmtpSink, type ReceivedMail } from '../../test/support/smtp-sink.js';
import { ManualClock } from '../util/clock.js';
import { normalizeAddress } from './address.js';
import { suppress } from './suppression.js';

const OWNER = 'owner@example.jp';
const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [${OWNER}], subject: "[Contact] {{name}}", body: "{{name}} <{{email}}>\\n\\n{{message}}" }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}." }
`;
const DAY = 86_400_000;

describe.skipIf(dbUnavailable())('recipient identity through the intake', () => {
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

  const start = (clock: ManualClock): Promise<TestInstance> =>
    startTestInstance({ forms: FORMS, smtp: `smtp://127.0.0.1:${port}`, clock, startWorker: false, defenses: OPEN_DEFENSES });

  /** Posts through the HTTP API as a bot that passes every bot check would. */
  async function post(t: TestInstance, clock: ManualClock, email: string): Promise<string> {
    const token = t.instance.defenses.tokens.issueToken('contact', clock.now());
    const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
      body: JSON.stringify({ name: 'N', email, message: 'hello', _token: token, website: '' }),
    });
    expect(res.status, `${email}: ${await res.clone().text()}`).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  /** Drains the outbox; a send that failed on a loaded machine (SMTP timeout) is retried after its 1 s back-off. */
  async function deliverAll(t: TestInstance, clock: ManualClock): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await t.instance.worker.drain();
      const waiting = await t.instance.db.kysely.selectFrom('outbox').select('id').where('state', '=', 'pending').where('attempts', '>', 0).execute();
      if (waiting.length === 0) return;
      clock.advance(2_000);
    }
  }

  const kindOf = (m: ReceivedMail) => String(m.parsed.headers.get('x-formwarden-kind') ?? '');
  const toHeader = (m: ReceivedMail) => /^To:(.*(?:\r\n[ \t].*)*)/im.exec(m.raw.toString('latin1').split('\r\n\r\n')[0]!)?.[1] ?? '';

  it('property: the auto-reply a tagged or routed address gets, in the outbox and at the SMTP server, carries no visitor-chosen text', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 10, 0, 0, 0));
    const t = await start(clock);
    const k = t.instance.db.kysely;
    let replied = 0;
    let routed = 0;
    try {
      const tagged = fc
        .tuple(mailboxName, recipientDomain, variantOpts(asciiPayload))
        .map(([name, domain, o]) => ({ kind: 'tagged' as const, name, domain, v: variantOf(name, domain, { ...o, payload: o.payload ?? 'x', spaces: false, trailingDot: false, fullWidth: o.fullWidth === 'all' ? 'domain' : o.fullWidth }) }))
        .filter((c) => c.v.formSafe && parseEmail(c.v.address) !== null);
      const routing = fc
        .tuple(routingLocal, recipientDomain)
        .map(([local, domain]) => ({ kind: 'routing' as const, address: `${local}@${domain}` }))
        .filter((c) => parseEmail(c.address) !== null);
      await fc.assert(
        fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: tagged }, { weight: 1, arbitrary: routing }), async (c) => {
          clock.advance(DAY + 3_600_000); // every cap window starts afresh: what is checked is the recipient, not the caps
          sink.received.length = 0;
          const typed = c.kind === 'tagged' ? c.v.address : c.address;
          const id = await post(t, clock, typed);
          await deliverAll(t, clock);
          const sub = await k.selectFrom('submissions').select(['autoreply', 'autoreply_to']).where('id', '=', id).executeTakeFirstOrThrow();
          const rows = await k.selectFrom('outbox').select(['kind', 'to_addr', 'reply_to', 'state']).where('submission_id', '=', id).execute();
          const autoreplies = rows.filter((r) => r.kind === 'autoreply');
          // The owner is notified in every case, with the address as typed for Reply-To.
          const notify = rows.filter((r) => r.kind === 'notify');
          expect(notify.map((r) => r.to_addr)).toEqual([OWNER]);
          expect(notify[0]!.reply_to).toBe(parseEmail(typed));
          expect(sink.to(OWNER)).toHaveLength(1);
          expect(sub.autoreply_to).toBe(normalizeAddress(typed));

          const routedHere = c.kind === 'routing' || /[%!/=]/.test(c.v.tag);
          if (routedHere) {
            routed++;
            expect(sub.autoreply).toBe('skipped:address:routing');
            expect(autoreplies).toEqual([]);
            expect(sink.received.filter((m) => kindOf(m) === 'autoreply')).toEqual([]);
            return;
          }
          replied++;
          const { name, domain, v } = c as Extract<typeof c, { kind: 'tagged' }>;
          expect(sub.autoreply).toBe('queued');
          expect(autoreplies).toHaveLength(1);
          const to = autoreplies[0]!.to_addr;
          expect(to).toBe(normalizeAddress(`${name}@${domain}`));
          expect(to).not.toContain('+');
          const tagText = v.tag.toLowerCase();
          if (tagText.length >= 3 && !to.includes(tagText)) expect(to.toLowerCase()).not.toContain(tagText);
          expect(to).not.toMatch(/www|http|\d{9}|dot-?com|\.(?:com|net|org|xyz|shop|click|info)[^@]*@/i);
          // What the stranger's server received: envelope and To: header are the canonical address, nothing else.
          const got = sink.received.filter((m) => kindOf(m) === 'autoreply');
          expect(got).toHaveLength(1);
          // (The SMTP server shows IDN domains in Unicode: compare canonical forms.)
          expect(got[0]!.envelopeTo.map((a) => parseEmail(a))).toEqual([to]);
          expect(parseEmail(toHeader(got[0]!).trim().replace(/^<|>$/g, ''))).toBe(to);
          if (tagText.length >= 3 && !to.includes(tagText)) expect(got[0]!.raw.toString('latin1').toLowerCase()).not.toContain(tagText);
        }),
        { numRuns: 40 },
      );
      expect(replied).toBeGreaterThan(5);
      expect(routed).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  }, 300_000);

  it('ceo+1..ceo+5@company.example: one auto-reply, not five; suppressing ceo+1 blocks ceo+2', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 12, 0, 0, 0));
    const t = await start(clock);
    const k = t.instance.db.kysely;
    try {
      const ids: string[] = [];
      for (let i = 1; i <= 5; i++) {
        ids.push(await post(t, clock, `ceo+${i}@company.example`));
        clock.advance(6_000);
      }
      await deliverAll(t, clock);
      const states = await Promise.all(ids.map(async (id) => (await k.selectFrom('submissions').select('autoreply').where('id', '=', id).executeTakeFirstOrThrow()).autoreply));
      expect(states).toEqual(['queued', 'skipped:cap:address', 'skipped:cap:address', 'skipped:cap:address', 'skipped:cap:address']);
      const strangers = sink.received.filter((m) => !m.envelopeTo.includes(OWNER));
      expect(strangers).toHaveLength(1);
      expect(strangers[0]!.envelopeTo).toEqual(['ceo@company.example']);
      expect(sink.to(OWNER)).toHaveLength(5);

      // The next day: the stranger clicked "I didn't request this" on ceo+1 (or the owner suppressed it).
      clock.advance(DAY + 60_000);
      await suppress(k, 'ceo+1@company.example', 'link', clock.now().getTime());
      const id2 = await post(t, clock, 'ceo+2@company.example');
      const id3 = await post(t, clock, 'CEO+3@Company.Example');
      await deliverAll(t, clock);
      for (const id of [id2, id3]) {
        expect((await k.selectFrom('submissions').select('autoreply').where('id', '=', id).executeTakeFirstOrThrow()).autoreply).toBe('skipped:suppressed');
      }
      expect(sink.received.filter((m) => !m.envelopeTo.includes(OWNER))).toHaveLength(1);
    } finally {
      await t.close();
    }
  }, 120_000);
});
