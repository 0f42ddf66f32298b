// A breaker trip cancels the auto-replies still waiting in the outbox and refunds their caps, but not one
// a worker holds under a live lease: that mail is being attempted (its own precheck cancels it, or it leaves),
// and refunding a mail that leaves would let one more through the caps. Found by test/cluster.db.test.ts,
// where several workers made the race frequent: 22 mails to strangers under a budget of 20.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';

const DEFENSES = `
defenses:
  formToken: { minFillSeconds: 0, maxAgeMinutes: 100000 }
  altcha: { enabled: false }
  rateLimit: { enabled: false }
  content: { enabled: false }
  geo: { enabled: false }
`;

describe.skipIf(dbUnavailable())('a breaker trip and the outbox leases', () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 5, 9, 0, 0));
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ clock, startWorker: false, defenses: DEFENSES });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function autoreplyOf(i: number): Promise<string> {
    const token = t.instance.defenses.tokens.issueToken('contact', clock.now());
    const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `192.0.2.${i}` },
      body: JSON.stringify({ name: `Visitor ${i}`, email: `v${i}@d${i}.example`, message: `question ${i}`, _token: token, website: '' }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const row = await t.instance.db.kysely.selectFrom('outbox').select('id').where('submission_id', '=', id).where('kind', '=', 'autoreply').executeTakeFirstOrThrow();
    return row.id;
  }
  const charges = async (outboxId: string) => (await t.instance.db.kysely.selectFrom('relay_charges').select('key').where('outbox_id', '=', outboxId).execute()).length;
  const stateOf = async (outboxId: string) => (await t.instance.db.kysely.selectFrom('outbox').select(['state', 'locked_by']).where('id', '=', outboxId).executeTakeFirstOrThrow());

  it('cancels and refunds a waiting auto-reply, leaves a leased one (being sent) pending with its charge', async () => {
    const waiting = await autoreplyOf(1);
    const leased = await autoreplyOf(2);
    const expired = await autoreplyOf(3);
    const now = clock.now().getTime();
    const k = t.instance.db.kysely;
    // A worker of another process is sending `leased`; the lease on `expired` ran out (that worker died).
    await k.updateTable('outbox').set({ locked_by: 'w_other', locked_until: now + 60_000 }).where('id', '=', leased).execute();
    await k.updateTable('outbox').set({ locked_by: 'w_dead', locked_until: now - 1 }).where('id', '=', expired).execute();
    for (const id of [waiting, leased, expired]) expect(await charges(id)).toBeGreaterThan(0);

    await t.instance.monitor.cancelPendingAutoreplies('contact', 'breaker');

    expect(await stateOf(waiting)).toMatchObject({ state: 'cancelled' });
    expect(await charges(waiting)).toBe(0);
    expect(await stateOf(expired)).toMatchObject({ state: 'cancelled' });
    expect(await charges(expired)).toBe(0);
    expect(await stateOf(leased)).toEqual({ state: 'pending', locked_by: 'w_other' });
    expect(await charges(leased)).toBeGreaterThan(0);
  });
});
