// The clock jumps (NTP step, suspended or restored VM): forward by hours and days, and back. Leases,
// retries, cap windows and token ages follow the instance's clock (injected here and moved by hand):
// no mail is sent twice, none is stuck, no budget is spent twice or given back twice.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { postSubmission, prepareForm, submitLikeAPerson } from '../../src/client/protocol.js';
import { dbUnavailable } from '../support/db.js';
import { startTestInstance, type TestInstance } from '../support/instance.js';
import { SmtpSink } from '../support/smtp-sink.js';
import { waitFor } from '../support/wait.js';
import { ManualClock } from '../../src/util/clock.js';
import { checkInvariants } from './invariants.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.skipIf(dbUnavailable())('faults: the clock jumps', () => {
  const sink = new SmtpSink();
  let port = 0;
  let t: TestInstance;
  let clock: ManualClock;
  const accepted: string[] = [];

  beforeAll(async () => {
    port = await sink.start();
  });
  afterAll(async () => {
    await sink.stop();
  });
  beforeEach(async () => {
    sink.received.length = 0;
    sink.mode = 'accept';
    accepted.length = 0;
    clock = new ManualClock(Date.now());
    t = await startTestInstance({ smtp: `smtp://127.0.0.1:${port}`, clock });
  });
  afterEach(async () => {
    await sink.release();
    await t.close();
  });

  const k = () => t.instance.db.kysely;
  const post = async (email: string, prepared?: Awaited<ReturnType<typeof prepareForm>>) => {
    const fields = { name: 'visitor', email, message: `question number ${accepted.length} from ${email}, about something else each time` };
    const res = prepared ? await postSubmission(t.url, 'contact', { ...fields, ...prepared.fields }) : await submitLikeAPerson(t.url, 'contact', fields);
    expect(res.status).toBe(201);
    const id = ((await res.json()) as { id: string }).id;
    accepted.push(id);
    return k().selectFrom('submissions').select(['id', 'action', 'autoreply', 'notify', 'verdict']).where('id', '=', id).executeTakeFirstOrThrow();
  };
  const charges = async (key: string) => (await k().selectFrom('relay_charges').select('key').where('key', '=', key).execute()).length;
  /** Waits until both mails of a submission failed once and are back in the queue (not being attempted). */
  const failedOnce = (id: string) =>
    waitFor(async () => {
      const rows = await k().selectFrom('outbox').select(['attempts', 'locked_by']).where('submission_id', '=', id).where('state', '=', 'pending').execute();
      return rows.length === 2 && rows.every((r) => r.attempts === 1 && r.locked_by === null);
    }, 'the first attempts to fail');
  const drained = () => waitFor(async () => (await k().selectFrom('outbox').select('id').where('state', '=', 'pending').execute()).length === 0, 'the outbox to drain');

  it('forward during an SMTP attempt: the lease looks expired, yet the running instance sends each mail once', async () => {
    sink.mode = 'hold';
    await post('a@a.example.jp');
    await waitFor(() => sink.held.length === 2, 'both mails in the middle of their SMTP transaction');
    clock.advance(2 * DAY);
    t.instance.worker.kick();
    sink.mode = 'accept';
    await sink.release();
    await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted });
    expect(sink.to('a@a.example.jp')).toHaveLength(1);
  });

  it('forward by days: due retries go out once; cap windows reopen; an old token keeps the inquiry without auto-reply', async () => {
    sink.mode = 'tempfail';
    await failedOnce((await post('b@b.example.jp')).id);
    sink.mode = 'accept';
    clock.advance(3 * DAY);
    await drained();
    const rows = await k().selectFrom('outbox').select(['state', 'attempts']).execute();
    expect(rows).toEqual([
      { state: 'sent', attempts: 2 },
      { state: 'sent', attempts: 2 },
    ]);
    // The per-address cap (1 a day) opened again with the new day; then it is spent again.
    expect((await post('b@b.example.jp')).autoreply).toBe('queued');
    expect((await post('b@b.example.jp')).autoreply).toBe('skipped:cap:address');
    // A form opened before a 2-hour jump: its token (and proof-of-work) expired. The inquiry is kept for the
    // owner (notified, or in the digest when quarantined), never rejected, and gets no auto-reply.
    const prepared = await prepareForm(t.url, 'contact');
    clock.advance(2 * HOUR);
    const late = await post('c@c.example.jp', prepared);
    expect(['accept_no_autoreply', 'quarantine']).toContain(late.action);
    expect(['queued', 'digest']).toContain(late.notify);
    expect(late.autoreply).toMatch(/^skipped:/);
    expect(late.verdict).toContain('TOKEN_EXPIRED');
    await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted });
    expect(sink.to('b@b.example.jp')).toHaveLength(2);
    expect(sink.to('c@c.example.jp')).toHaveLength(0);
  });

  it('back by hours: spent caps stay spent, tokens from "the future" are kept, retries and leases are not stuck', async () => {
    expect((await post('d@d.example.jp')).autoreply).toBe('queued');
    await drained();
    const prepared = await prepareForm(t.url, 'contact');
    // A retry scheduled, and a lease held, against the later time.
    sink.mode = 'tempfail';
    await failedOnce((await post('e@e.example.jp')).id);
    // One of them as a killed process leaves it: leased (30 s here) by a worker that will never finish it.
    const leased = await k().selectFrom('outbox').select('id').where('to_addr', '=', 'e@e.example.jp').executeTakeFirstOrThrow();
    await k().updateTable('outbox').set({ locked_by: 'w_killed', locked_until: clock.now().getTime() + 30_000 }).where('id', '=', leased.id).execute();
    sink.mode = 'accept';
    clock.advance(-6 * HOUR);
    // The charge made "in the future" still counts: no second auto-reply to d, and exactly one charge.
    expect((await post('d@d.example.jp')).autoreply).toBe('skipped:cap:address');
    expect(await charges(`relay:address:86400:${encodeURIComponent('d@d.example.jp')}`)).toBe(1);
    // The token was issued 6 hours "from now": correctly signed, so not forged: kept, no auto-reply.
    const fromFuture = await post('f@f.example.jp', prepared);
    expect(fromFuture).toMatchObject({ action: 'accept_no_autoreply', notify: 'queued' });
    expect(fromFuture.verdict).toContain('TOKEN_EXPIRED');
    // The retry due, and the lease ending, 6 hours "from now" do not wait for the clock to catch up.
    clock.advance(31_000);
    await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted });
    expect(sink.to('e@e.example.jp')).toHaveLength(1);
    expect(sink.to('d@d.example.jp')).toHaveLength(1);
    // Each queued auto-reply is charged once to the instance budget: nothing spent twice, nothing refunded below zero.
    const replies = await k().selectFrom('outbox').select('id').where('kind', '=', 'autoreply').where('state', '!=', 'cancelled').execute();
    expect(await charges('relay:global:day')).toBe(replies.length);
  });
});
