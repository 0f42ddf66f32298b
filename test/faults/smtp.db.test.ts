// SMTP faults at the instance level: visitors post through the HTTP API while the SMTP server is down,
// answers 4xx, answers 5xx or hangs; then it recovers and the running worker catches up by itself.
// The clock is moved by hand, so retries become due when the test says so (no sleeping).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../support/db.js';
import { startTestInstance, type TestInstance } from '../support/instance.js';
import { SmtpSink } from '../support/smtp-sink.js';
import { waitFor } from '../support/wait.js';
import { ManualClock } from '../../src/util/clock.js';
import { checkInvariants, flood } from './invariants.js';

describe.skipIf(dbUnavailable())('faults: the SMTP server', () => {
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
    t = await startTestInstance({ smtp: `smtp://127.0.0.1:${port}`, clock });
  });
  afterEach(async () => {
    await t.close();
    // A test that failed while the server was down leaves it down; the next one needs it up.
    await sink.start(port).catch(() => {});
  });

  const rows = () => t.instance.db.kysely.selectFrom('outbox').selectAll().execute();
  /** Waits until every mail was attempted `n` times and failed with an error matching `re`. */
  const attempted = (n: number, re: RegExp) =>
    waitFor(async () => {
      const all = await rows();
      return all.length > 0 && all.every((r) => r.state !== 'pending' || (r.attempts >= n && re.test(r.last_error ?? ''))) ? all : null;
    }, `every mail attempted ${n} time(s)`, 90_000); // a hanging server costs each mail the socket timeout (5 s), two at a time

  it('down during a flood, then up: every accepted submission is notified and auto-replied exactly once', async () => {
    await sink.stop();
    const posted = await flood(t.url, 6);
    expect(posted.accepted).toHaveLength(6);
    const failing = await attempted(1, /ECONNECTION|ESOCKET|ECONNREFUSED/);
    expect(failing.filter((r) => r.state === 'pending')).toHaveLength(12);
    await sink.start(port);
    clock.advance(1000);
    const { sent } = await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted: posted.accepted });
    expect(sent).toBe(12);
    expect(sink.toKind('owner@example.jp', 'notify')).toHaveLength(6);
  }, 180_000);

  it('4xx for two attempts, then accepted: delivered on the next scheduled attempt, once', async () => {
    sink.mode = 'tempfail';
    const posted = await flood(t.url, 4);
    expect(posted.accepted).toHaveLength(4);
    await attempted(1, /451/);
    clock.advance(1000);
    await attempted(2, /451/);
    sink.mode = 'accept';
    clock.advance(1000);
    const { sent } = await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted: posted.accepted });
    expect(sent).toBe(8);
  }, 180_000);

  it('5xx: the mails are dead (never re-sent), the submissions stored; mail accepted again afterwards goes out', async () => {
    sink.mode = 'permfail';
    const during = await flood(t.url, 4, { tag: 'a' });
    expect(during.accepted).toHaveLength(4);
    await waitFor(async () => (await rows()).filter((r) => r.state === 'dead').length === 8, 'eight dead mails');
    sink.mode = 'accept';
    const after = await flood(t.url, 3, { tag: 'b' });
    await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted: [...during.accepted, ...after.accepted], allowStates: ['dead'] });
    const all = await rows();
    for (const id of during.accepted) expect(all.filter((r) => r.submission_id === id).map((r) => r.state)).toEqual(['dead', 'dead']);
    for (const id of after.accepted) expect(all.filter((r) => r.submission_id === id).map((r) => r.state)).toEqual(['sent', 'sent']);
    expect(all.find((r) => r.state === 'dead')?.last_error).toContain('550');
  }, 180_000);

  it('hanging: the attempt times out (connection released), is retried, and delivered once', async () => {
    sink.mode = 'hang';
    const posted = await flood(t.url, 3);
    expect(posted.accepted).toHaveLength(3);
    // While SMTP hangs, the HTTP side still answers at once.
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    await attempted(1, /ETIMEDOUT|timeout/i);
    sink.mode = 'accept';
    clock.advance(1000);
    const { sent } = await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted: posted.accepted });
    expect(sent).toBe(6);
  }, 180_000);
});
