// Bounces read from the owner's mailbox (a real Dovecot on loopback) act on the running instance:
// a hard bounce of an auto-reply suppresses the address and shows on the submission's events, the
// cursor means nothing is read twice, and a burst of bounces (from several recipient domains) trips the
// breaker and alerts the owner. A forged DSN quoting a received Message-ID acts on that mail's recipient
// only, whatever address it claims, and counts once however often it comes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { postfixDsn } from '../../test/support/dsn.js';
import { BASE_FORM, OPEN_DEFENSES, startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';
import { dovecotMissing, startDovecot, type DovecotServer } from '../../test/support/dovecot.js';
import { createImapClient } from './imap/index.js';


/** A DSN for one mail of ours, returning its headers. */
const dsn = (rcpt: string, messageId: string, n = 1) => postfixDsn(n, rcpt, { messageId });

describe.skipIf(dbUnavailable() || dovecotMissing())('bounces from the owner\'s mailbox', () => {
  let imap: DovecotServer;
  beforeAll(async () => {
    imap = await startDovecot();
  });
  afterAll(async () => {
    await imap?.dispose();
  });

  async function deliver(mailbox: string, ...raws: string[]) {
    const c = await createImapClient({ host: imap.host, port: imap.port, user: imap.user, pass: imap.pass });
    await c.connect();
    try {
      await c.mailboxCreate(mailbox).catch(() => undefined);
      for (const r of raws) await c.append(mailbox, r);
    } finally {
      await c.logout();
    }
  }

  /** Each test reads its own folder of the mailbox. */
  async function start(clock: ManualClock, mailbox: string, extra = ''): Promise<TestInstance> {
    return startTestInstance({ clock, startWorker: false, defenses: OPEN_DEFENSES, forms: BASE_FORM, extra: `bounces: { imap: { url: "${imap.url(mailbox)}" } }\n${extra}` });
  }

  async function post(t: TestInstance, clock: ManualClock, email: string) {
    clock.advance(1000);
    const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
      body: JSON.stringify({ name: 'N', email, message: 'hello', _token: t.instance.defenses.tokens.issueToken('contact', clock.now()), website: '' }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  it('a hard bounce of an auto-reply suppresses the address once; the submission shows it', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 20, 9, 0, 0));
    const t = await start(clock, 'Bounces1');
    const k = t.instance.db.kysely;
    try {
      const id = await post(t, clock, 'nosuchuser@receiver.example');
      await t.instance.worker.drain();
      const reply = await k.selectFrom('outbox').selectAll().where('submission_id', '=', id).where('kind', '=', 'autoreply').executeTakeFirstOrThrow();
      expect(reply.state).toBe('sent');

      await deliver('Bounces1', dsn('nosuchuser@receiver.example', reply.message_id));
      expect(await t.instance.pollBounces()).toBe(1);
      expect(await t.instance.pollBounces()).toBe(0);

      const supp = await k.selectFrom('suppressions').selectAll().execute();
      expect(supp.map((s) => [s.address, s.reason])).toEqual([['nosuchuser@receiver.example', 'bounce']]);
      const events = await k.selectFrom('events').selectAll().where('kind', '=', 'bounce').execute();
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0]!.detail)).toMatchObject({ outbox: reply.id, submission: id, kind: 'autoreply', reason: 'userunknown', status: '5.1.1', hard: true });
      expect((await t.instance.monitor.stats('contact', 0, clock.now().getTime() + 1)).bounces).toBe(1);

      clock.advance(25 * 3_600_000);
      await post(t, clock, 'nosuchuser@receiver.example');
      const last = await k.selectFrom('submissions').select('autoreply').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      expect(last.autoreply).toBe('skipped:suppressed');
    } finally {
      await t.close();
    }
  });

  it('a burst of bounces trips the breaker and alerts the owner', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 21, 9, 0, 0));
    const t = await start(clock, 'Bounces2', 'monitor: { form: { bounces: 3 } }');
    const k = t.instance.db.kysely;
    try {
      const raws: string[] = [];
      for (let i = 0; i < 4; i++) {
        const id = await post(t, clock, `gone${i}@bounce${i}.example`);
        await t.instance.worker.drain();
        const reply = await k.selectFrom('outbox').select('message_id').where('submission_id', '=', id).where('kind', '=', 'autoreply').executeTakeFirstOrThrow();
        raws.push(dsn(`gone${i}@bounce${i}.example`, reply.message_id, i + 1));
      }
      await deliver('Bounces2', ...raws);
      expect(await t.instance.pollBounces()).toBe(4);
      await t.instance.housekeeping();
      expect(t.instance.monitor.isOpen('contact')).toBe(true);
      const alert = await k.selectFrom('outbox').selectAll().where('kind', '=', 'alert').executeTakeFirstOrThrow();
      expect(alert.body).toContain('bounces 4 in 600s > limit 3');
      expect(await k.selectFrom('suppressions').selectAll().execute()).toHaveLength(4);
    } finally {
      await t.close();
    }
  });
  it('a forged DSN quoting a received Message-ID suppresses that mail\'s recipient, never the address it claims, and counts once', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
    const t = await start(clock, 'Bounces3', 'monitor: { form: { bounces: 1 } }');
    const k = t.instance.db.kysely;
    try {
      const customer = await post(t, clock, 'customer@shop-customer.example');
      const attacker = await post(t, clock, 'attacker@attacker.example');
      await t.instance.worker.drain();
      const reply = await k.selectFrom('outbox').selectAll().where('submission_id', '=', attacker).where('kind', '=', 'autoreply').executeTakeFirstOrThrow();
      // The attacker got reply.message_id; the DSN claims the customer failed (hard), five times, and a
      // non-report quoting the same Message-ID comes along.
      const forged = dsn('customer@shop-customer.example', reply.message_id);
      const notReport = `From: attacker@attacker.example\r\nTo: info@example.jp\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n<customer@shop-customer.example>: 550 5.1.1 User unknown\r\nMessage-ID: ${reply.message_id}\r\n`;
      await deliver('Bounces3', forged, forged, forged, forged, forged, notReport);
      expect(await t.instance.pollBounces()).toBe(6);

      const supp = await k.selectFrom('suppressions').selectAll().execute();
      expect(supp.map((s) => s.address)).toEqual(['attacker@attacker.example']);
      const events = await k.selectFrom('events').selectAll().where('kind', 'in', ['bounce', 'complaint']).execute();
      expect(events).toHaveLength(1);
      expect(events[0]!.address).toBe('attacker@attacker.example');
      expect(JSON.parse(events[0]!.detail)).toMatchObject({ outbox: reply.id, matched: 'message-id', reported: 'customer@shop-customer.example' });
      // One signal from one recipient domain trips nothing, even with a limit of one.
      await t.instance.housekeeping();
      expect(t.instance.monitor.isOpen('contact')).toBe(false);

      clock.advance(25 * 3_600_000);
      await post(t, clock, 'customer@shop-customer.example');
      const last = await k.selectFrom('submissions').select('autoreply').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      expect(last.autoreply).toBe('queued');
      expect(customer).toBeTruthy();
    } finally {
      await t.close();
    }
  });
});
