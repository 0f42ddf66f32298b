// Delivery through a real SMTP server (smtp-server) with a hand-moved clock: headers, encoding,
// single recipients, and the outbox's behaviour when SMTP is down, answers 4xx or answers 5xx.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { submitLikeAPerson } from '../client/protocol.js';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { ManualClock } from '../util/clock.js';
import { listMail, retryMail } from './outbox.js';

const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp, sales@example.jp], subject: "[お問い合わせ] {{name}}: {{message}}", body: "{{name}} <{{email}}>\\n\\n{{message}}" }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "{{site_name}}より: お問い合わせありがとうございます", body: "受付番号 {{receipt_id}}\\nありがとうございました。" }
`;

describe.skipIf(dbUnavailable())('mail delivery through the outbox', () => {
  const sink = new SmtpSink();
  let port = 0;
  let t: TestInstance;
  let clock: ManualClock;

  beforeAll(async () => {
    port = await sink.start();
  });
  afterAll(async () => {
    await sink.stop();
  });
  beforeEach(async () => {
    sink.received.length = 0;
    sink.mode = 'accept';
    clock = new ManualClock(Date.now());
    t = await startTestInstance({ forms: FORMS, smtp: `smtp://127.0.0.1:${port}`, clock, startWorker: false });
  });
  afterEach(async () => {
    await t.close();
  });

  const post = async (fields: Record<string, string>) => {
    const res = await submitLikeAPerson(t.url, 'contact', fields);
    expect(res.status).toBe(201);
    return ((await res.json()) as { receipt: string }).receipt;
  };
  const visitor = { name: '山田 太郎', email: 'taro@example.jp', message: 'こんにちは\r\nBcc: victim@example.com' };

  it('delivers notifications with Reply-To the visitor, and the auto-reply to the visitor only', async () => {
    const id = await post(visitor);
    await t.instance.worker.drain();
    expect(sink.received).toHaveLength(3);
    for (const m of sink.received) {
      expect(m.envelopeTo).toHaveLength(1);
      expect(m.parsed.from?.value).toEqual([{ address: 'info@example.jp', name: 'Example Shop' }]);
      expect(m.raw.toString().split('\r\n\r\n')[0]).not.toMatch(/^Bcc:/im);
      expect(m.parsed.headers.get('message-id')).toMatch(/^<m_[0-9a-z]{22}@example\.jp>$/);
    }
    const owner = sink.to('owner@example.jp')[0]!;
    expect(owner.parsed.replyTo?.value).toEqual([{ address: 'taro@example.jp', name: '' }]);
    expect(owner.parsed.subject).toBe('[お問い合わせ] 山田 太郎: こんにちは Bcc: victim@example.com');
    expect(owner.raw.toString()).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/m);
    expect(owner.parsed.text).toContain('Bcc: victim@example.com');
    expect(sink.to('sales@example.jp')).toHaveLength(1);
    const reply = sink.to('taro@example.jp');
    expect(reply).toHaveLength(1);
    expect(reply[0]!.parsed.to).toMatchObject({ value: [{ address: 'taro@example.jp' }] });
    expect(reply[0]!.parsed.subject).toBe('Example Shopより: お問い合わせありがとうございます');
    expect(reply[0]!.parsed.text).toContain(`受付番号 ${id}`);
    expect(reply[0]!.parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(sink.received.some((m) => m.envelopeTo.includes('victim@example.com'))).toBe(false);
    const stored = await listMail(t.instance.db.kysely, { state: 'sent' });
    expect(stored).toHaveLength(3);
  });

  it('SMTP down for a while, then up: every accepted mail is delivered, none lost', async () => {
    await sink.stop();
    const ids = [await post(visitor), await post({ ...visitor, email: 'hanako@example.jp' })];
    await t.instance.worker.drain();
    const pending = await listMail(t.instance.db.kysely, { state: 'pending' });
    expect(pending).toHaveLength(6);
    expect(pending.every((m) => m.attempts === 1 && /ECONNECTION|ESOCKET|ECONNREFUSED/.test(m.last_error ?? ''))).toBe(true);
    await sink.start(port);
    clock.advance(1000);
    await t.instance.worker.drain();
    expect(sink.received).toHaveLength(6);
    expect(await listMail(t.instance.db.kysely, { state: 'sent' })).toHaveLength(6);
    expect(sink.to('hanako@example.jp')[0]!.parsed.text).toContain(ids[1]);
  });

  it('SMTP 4xx: retried on the schedule, then dead', async () => {
    sink.mode = 'tempfail';
    await post(visitor);
    await t.instance.worker.drain();
    let rows = await listMail(t.instance.db.kysely);
    expect(rows.every((r) => r.state === 'pending' && r.attempts === 1 && r.last_error?.includes('451'))).toBe(true);
    expect(rows.every((r) => r.next_attempt_at === clock.now().getTime() + 1000)).toBe(true);
    // Not due yet: nothing is attempted.
    expect(await t.instance.worker.tick()).toBe(0);
    // Schedule [1s, 1s, 1s]: three retries, then dead.
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await t.instance.worker.drain();
    }
    rows = await listMail(t.instance.db.kysely);
    expect(rows.map((r) => [r.state, r.attempts])).toEqual([['dead', 4], ['dead', 4], ['dead', 4]]);
    expect(sink.received).toHaveLength(0);
  });

  it('SMTP 4xx then recovery: delivered on the next scheduled attempt', async () => {
    sink.mode = 'tempfail';
    await post(visitor);
    await t.instance.worker.drain();
    sink.mode = 'accept';
    clock.advance(1000);
    await t.instance.worker.drain();
    expect(sink.received).toHaveLength(3);
  });

  it('SMTP 5xx: dead at once, visible in the mail list, and can be queued again', async () => {
    sink.mode = 'permfail';
    await post(visitor);
    await t.instance.worker.drain();
    const dead = await listMail(t.instance.db.kysely, { state: 'dead' });
    expect(dead).toHaveLength(3);
    expect(dead[0]!.last_error).toContain('550');
    sink.mode = 'accept';
    expect(await retryMail(t.instance.db.kysely, dead[0]!.id, clock.now().getTime())).toBe(true);
    await t.instance.worker.drain();
    expect(sink.received).toHaveLength(1);
    expect((await listMail(t.instance.db.kysely, { state: 'dead' })).length).toBe(2);
  });

  it('SMTP hanging: the attempt times out and is retried', async () => {
    sink.mode = 'hang';
    await post(visitor);
    await t.instance.worker.drain();
    const rows = await listMail(t.instance.db.kysely);
    expect(rows.every((r) => r.state === 'pending' && r.attempts === 1)).toBe(true);
    expect(rows[0]!.last_error).toMatch(/ETIMEDOUT|timeout/i);
    sink.mode = 'accept';
    clock.advance(1000);
    await t.instance.worker.drain();
    expect(sink.received).toHaveLength(3);
  }, 120_000); // each hanging attempt waits out the socket timeout (5 s)
});
