// End to end: Formwarden sends through a real SMTP server that plays the receiving MTA. For a mailbox
// that does not exist it accepts the mail, then sends an RFC 3464 DSN over SMTP to the envelope sender
// it saw, the VERP address, which is Formwarden's own bounce receiver. The bounce is matched to its
// outbox row, suppresses the address, shows on the submission, and a burst trips the breaker.
import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listSubmissions } from '../../submissions/list.js';
import { dbUnavailable } from '../../../test/support/db.js';
import { BASE_FORM, OPEN_DEFENSES, startTestInstance, type TestInstance } from '../../../test/support/instance.js';
import { RemoteMta, rfc3464Dsn } from '../../../test/support/remote-mta.js';
import { waitFor } from '../../../test/support/wait.js';
import { ManualClock } from '../../util/clock.js';
import { ingestBounce } from '../ingest.js';

describe.skipIf(dbUnavailable())('bounces over SMTP to a VERP address', () => {
  let mta: RemoteMta;
  let t: TestInstance | null = null;
  let clock: ManualClock;

  async function start(opts: { withoutOriginal?: boolean; extra?: string } = {}) {
    mta = new RemoteMta({
      unknownDomains: ['nowhere.example', 'nowhere0.example', 'nowhere1.example', 'nowhere2.example', 'nowhere3.example'],
      bounceTo: () => t!.instance.bounceReceiver!,
      ...(opts.withoutOriginal ? { withoutOriginal: true } : {}),
    });
    const port = await mta.start();
    clock = new ManualClock(Date.UTC(2026, 10, 20, 9, 0, 0));
    t = await startTestInstance({
      clock,
      startWorker: false,
      smtp: `smtp://127.0.0.1:${port}`,
      defenses: OPEN_DEFENSES,
      forms: BASE_FORM,
      extra: `bounces:\n  verp: { domain: bounce.example.jp }\n  smtp: { port: 0 }\n${opts.extra ?? ''}`,
    });
    return t;
  }

  beforeEach(() => {
    t = null;
  });
  afterEach(async () => {
    await t?.close();
    await mta?.stop();
  });

  async function post(email: string) {
    clock.advance(1000);
    const res = await fetch(`${t!.url}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
      body: JSON.stringify({ name: 'N', email, message: 'hello', _token: t!.instance.defenses.tokens.issueToken('contact', clock.now()), website: '' }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  const bounceEvents = () => t!.instance.db.kysely.selectFrom('events').selectAll().where('kind', '=', 'bounce').execute();

  it('matches the bounce to its auto-reply by the VERP address, suppresses the address and shows it on the submission', async () => {
    await start();
    const k = t!.instance.db.kysely;
    const id = await post('nosuchuser@nowhere.example');
    await t!.instance.worker.drain();
    const reply = await k.selectFrom('outbox').selectAll().where('submission_id', '=', id).where('kind', '=', 'autoreply').executeTakeFirstOrThrow();
    const notify = await k.selectFrom('outbox').selectAll().where('submission_id', '=', id).where('kind', '=', 'notify').executeTakeFirstOrThrow();
    expect(reply.state).toBe('sent');

    // Each mail left with its own signed envelope sender at the bounce domain.
    const sentReply = mta.to('nosuchuser@nowhere.example')[0]!;
    expect(sentReply.envelopeFrom).toMatch(/^bounce\+[0-9a-z]{22}-[0-9a-z]{13}@bounce\.example\.jp$/);
    expect(t!.instance.verp!.verify(sentReply.envelopeFrom)).toBe(reply.id);
    expect(t!.instance.verp!.verify(mta.to('owner@example.jp')[0]!.envelopeFrom)).toBe(notify.id);
    expect(sentReply.parsed.from?.value[0]?.address).toBe('info@example.jp');

    await mta.settled();
    expect(mta.bounced).toEqual([{ to: sentReply.envelopeFrom, rcpt: 'nosuchuser@nowhere.example', raw: expect.stringContaining('multipart/report'), response: expect.stringMatching(/^250 /) }]);
    const events = await waitFor(async () => ((await bounceEvents()).length === 1 ? bounceEvents() : null), 'the bounce event');
    expect(JSON.parse(events[0]!.detail)).toMatchObject({ outbox: reply.id, submission: id, kind: 'autoreply', reason: 'userunknown', status: '5.1.1', hard: true, matched: 'verp' });
    expect(events[0]!.address).toBe('nosuchuser@nowhere.example');
    expect((await k.selectFrom('suppressions').selectAll().execute()).map((s) => [s.address, s.reason])).toEqual([['nosuchuser@nowhere.example', 'bounce']]);

    // The same DSN again (a retry, or someone replaying it): accepted, but it counts once.
    const rx = t!.instance.bounceReceiver!;
    const again = nodemailer.createTransport({ host: rx.host, port: rx.port, secure: false, ignoreTLS: true });
    expect((await again.sendMail({ envelope: { from: '', to: [sentReply.envelopeFrom] }, raw: mta.bounced[0]!.raw })).response).toMatch(/^250 /);
    again.close();
    expect(await bounceEvents()).toHaveLength(1);

    const [listed] = await listSubmissions(k, { form: 'contact' });
    expect(listed!.id).toBe(id);
    expect(listed!.bounces).toEqual([expect.objectContaining({ event: 'bounce', mail: 'autoreply', outbox: reply.id, address: 'nosuchuser@nowhere.example', reason: 'userunknown', status: '5.1.1', hard: true })]);

    // The next auto-reply to that address is not sent.
    clock.advance(25 * 3_600_000);
    const second = await post('nosuchuser@nowhere.example');
    await t!.instance.worker.drain();
    const row = await k.selectFrom('submissions').select('autoreply').where('id', '=', second).executeTakeFirstOrThrow();
    expect(row.autoreply).toBe('skipped:suppressed');
    expect(mta.to('nosuchuser@nowhere.example')).toHaveLength(1);
    expect(mta.to('owner@example.jp')).toHaveLength(2);
  });

  it('matches by the VERP address alone when the DSN returns no headers of the original', async () => {
    await start({ withoutOriginal: true });
    const id = await post('gone@nowhere.example');
    await t!.instance.worker.drain();
    await mta.settled();
    const events = await waitFor(async () => ((await bounceEvents()).length === 1 ? bounceEvents() : null), 'the bounce event');
    expect(JSON.parse(events[0]!.detail)).toMatchObject({ submission: id, kind: 'autoreply', matched: 'verp', hard: true });
    expect(await t!.instance.db.kysely.selectFrom('suppressions').select('address').execute()).toEqual([{ address: 'gone@nowhere.example' }]);
  });

  it('a DSN read from a mailbox (bounces.imap) is matched by the VERP address it was sent to', async () => {
    await start();
    const k = t!.instance.db.kysely;
    const id = await post('owner-typo@elsewhere.example');
    await t!.instance.worker.drain();
    const reply = await k.selectFrom('outbox').selectAll().where('submission_id', '=', id).where('kind', '=', 'autoreply').executeTakeFirstOrThrow();
    const raw = Buffer.from(rfc3464Dsn({ rcpt: 'owner-typo@elsewhere.example', envelopeFrom: t!.instance.verp!.address(reply.id)!, n: 1 }));
    // What the IMAP poller does; without VERP the bounce (no original headers) is nobody's.
    expect(await ingestBounce(k, clock, raw, 3)).toMatchObject({ ours: 0, foreign: 1 });
    expect(await ingestBounce(k, clock, raw, 3, { verp: t!.instance.verp })).toMatchObject({ ours: 1, suppressed: ['owner-typo@elsewhere.example'] });
    const [e] = await bounceEvents();
    expect(JSON.parse(e!.detail)).toMatchObject({ outbox: reply.id, submission: id, matched: 'verp' });
    // A tampered address matches nothing.
    const [local, domain] = t!.instance.verp!.address(reply.id)!.split('@') as [string, string];
    const tampered = `${local.slice(0, -1)}${local.endsWith('a') ? 'b' : 'a'}@${domain}`;
    const forged = Buffer.from(rfc3464Dsn({ rcpt: 'x@elsewhere.example', envelopeFrom: tampered, n: 2 }));
    expect(await ingestBounce(k, clock, forged, 3, { verp: t!.instance.verp })).toMatchObject({ ours: 0, foreign: 1 });
  });

  it('a burst of bounces from several recipient domains trips the form\'s breaker and the alert reaches the owner', async () => {
    await start({ extra: 'monitor: { form: { bounces: 3 } }' });
    for (let i = 0; i < 4; i++) await post(`gone${i}@nowhere${i}.example`);
    await t!.instance.worker.drain();
    await mta.settled();
    expect(mta.bounced.filter((b) => b.response?.startsWith('250'))).toHaveLength(4);
    await waitFor(async () => (await bounceEvents()).length === 4, 'four bounce events');

    await t!.instance.housekeeping();
    expect(t!.instance.monitor.isOpen('contact')).toBe(true);
    await t!.instance.worker.drain();
    const alerts = mta.to('owner@example.jp').filter((m) => m.parsed.subject?.includes('Formwarden alert'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.parsed.text).toContain('bounces 4 in 600s > limit 3 (4 recipient domains, 4 of 4 auto-replies sent)');
    expect(await t!.instance.db.kysely.selectFrom('suppressions').selectAll().execute()).toHaveLength(4);

    // With the breaker open, a new auto-reply is not sent.
    await post('someone@nowhere.example');
    await t!.instance.worker.drain();
    expect(mta.to('someone@nowhere.example')).toHaveLength(0);
  });

  it('the same burst from one recipient domain suppresses the addresses but does not trip the breaker', async () => {
    await start({ extra: 'monitor: { form: { bounces: 3 } }' });
    for (let i = 0; i < 4; i++) await post(`gone${i}@nowhere.example`);
    await t!.instance.worker.drain();
    await mta.settled();
    await waitFor(async () => (await bounceEvents()).length === 4, 'four bounce events');
    await t!.instance.housekeeping();
    expect(t!.instance.monitor.isOpen('contact')).toBe(false);
    expect(await t!.instance.db.kysely.selectFrom('suppressions').selectAll().execute()).toHaveLength(4);
  });
});
