// The accept path's memory of full caps (src/relay/full-caps.ts inside src/submissions/write.ts): whatever
// the order of posts, clock steps and refunds, every auto-reply is queued or skipped exactly as a fresh count
// of the charges would decide, and a skipped one names the first full cap, as a count would. On SQLite and PostgreSQL.
import fc from 'fast-check';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { dbUnavailable, dialect, useMigratedDatabase } from '../../test/support/db.js';
import { AcceptWriter, type AcceptedWrite } from '../submissions/write.js';
import { refundCaps } from './budget.js';
import type { CapKey } from './caps.js';
import { RECHECK_MS } from './full-caps.js';

let seq = 0;
const nextId = (p: string) => `${p}_${(++seq).toString(36).padStart(8, '0')}`;

/** A post's rows as the intake hands them in: the submission and its auto-reply under `keys`. */
function postRows(keys: CapKey[], address: string, at: number): AcceptedWrite & { mailId: string } {
  const id = nextId('s');
  const mailId = nextId('o');
  return {
    mailId,
    submission: { id, receipt: null, receipt_seq: seq + 2 ** 30, form_id: 'caps', created_at: at, ip: '192.0.2.1', user_agent: 't', lang: 'en', fields: '{}', action: 'accept', score: 0, verdict: '{}', autoreply: 'pending', notify: 'none', content_hash: '', autoreply_to: address, refused: null, bytes: null },
    attachments: [],
    mails: [],
    autoreply: {
      address,
      keys,
      at,
      row: () => ({ id: mailId, submission_id: id, form_id: 'caps', kind: 'autoreply', to_addr: address, reply_to: null, subject: 's', body: 'b', message_id: `<${id}@t>`, state: 'pending', attempts: 0, next_attempt_at: at, locked_until: null, locked_by: null, last_error: null, created_at: at, sent_at: null, raw: null, transport: null }),
    },
  };
}

/**
 * The keys of one run (their own prefix): per address 1 a minute, per domain 2 in two minutes, the form 3 in
 * five, all 4 in ten; `scale` multiplies the limits, as a reloaded configuration may (0 turns a budget to none).
 */
function keysFor(run: string, address: number, scale = 1): CapKey[] {
  return [
    { key: `${run}:address:${address}`, limit: 1 * scale, windowSeconds: 60, scope: 'address' },
    { key: `${run}:domain:${address % 2}`, limit: 2 * scale, windowSeconds: 120, scope: 'domain' },
    { key: `${run}:form`, limit: 3 * scale, windowSeconds: 300, scope: 'form-hour' },
    { key: `${run}:global`, limit: 4 * scale, windowSeconds: 600, scope: 'global-hour' },
  ];
}

// Clock steps of whole seconds, often the windows' own lengths: a charge leaving its window exactly then is the edge.
type Step = { kind: 'post'; address: number; advanceS: number } | { kind: 'refund'; pick: number } | { kind: 'reload'; scale: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('post' as const), address: fc.integer({ min: 0, max: 3 }), advanceS: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constantFrom(1, 59, 60, 61, 120, 300, 600) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 700 }) }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reload' as const), scale: fc.constantFrom(0, 1, 2) }) },
);

describe.skipIf(dbUnavailable())('full caps remembered by the accept path', () => {
  const fresh = useMigratedDatabase();

  it('decides every auto-reply as a fresh count would, across clock steps, refunds and changed limits', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const run = `run${++runs}`;
        // A writer of its own per run: its memory starts empty and lives through the run.
        const writer = new AcceptWriter(fresh.db);
        const charges: { key: string; outbox: string; at: number }[] = [];
        const queued: string[] = [];
        let now = 1_800_000_000_000;
        let scale = 1;
        for (const s of steps) {
          if (s.kind === 'reload') {
            scale = s.scale;
            continue;
          }
          if (s.kind === 'refund') {
            if (queued.length === 0) continue;
            const outbox = queued.splice(s.pick % queued.length, 1)[0]!;
            await refundCaps(fresh.db.kysely, outbox);
            for (let i = charges.length - 1; i >= 0; i--) if (charges[i]!.outbox === outbox) charges.splice(i, 1);
            continue;
          }
          now += s.advanceS * 1000;
          const keys = keysFor(run, s.address, scale);
          const fullNow = keys.filter((k) => charges.filter((c) => c.key === k.key && c.at > now - k.windowSeconds * 1000).length >= k.limit);
          const w = postRows(keys, `a${s.address}@d${s.address % 2}.example`, now);
          const { autoreply } = await writer.write(w);
          if (fullNow.length === 0) {
            expect(autoreply).toBe('queued');
            for (const k of keys) charges.push({ key: k.key, outbox: w.mailId, at: now });
            queued.push(w.mailId);
          } else {
            // The first full cap in order, as a fresh count names it.
            expect(autoreply).toBe(`skipped:cap:${fullNow[0]!.scope}`);
          }
        }
        // The database agrees with the model.
        const stored = await fresh.db.kysely.selectFrom('relay_charges').select('key').where('key', 'like', `${run}:%`).execute();
        expect(stored.length).toBe(charges.length);
      }),
      { numRuns: 150 },
    );
  });

  it("counts again after a refund it was not told of (another process's), once RECHECK_MS has passed", async () => {
    const writer = new AcceptWriter(fresh.db);
    const keys = keysFor('external', 0);
    const at = 1_900_000_000_000;
    const first = postRows(keys, 'a0@d0.example', at);
    expect((await writer.write(first)).autoreply).toBe('queued');
    // The address cap (1) is full now, and remembered.
    expect((await writer.write(postRows(keys, 'a0@d0.example', at + 1000))).autoreply).toBe('skipped:cap:address');
    // Another process gives the budget back: a plain delete, no capsGivenBack() here.
    await fresh.db.kysely.deleteFrom('relay_charges').where('outbox_id', '=', first.mailId).execute();
    await new Promise((r) => setTimeout(r, RECHECK_MS + 100));
    expect((await writer.write(postRows(keys, 'a0@d0.example', at + 2000))).autoreply).toBe('queued');
  });

  // A transaction that fails at COMMIT (here a deferred constraint trigger; in life a dropped connection or a
  // serialization failure) rolls back the charges a later post of its group counted: nothing learned from them
  // may outlive it. PostgreSQL only (SQLite has no deferred trigger to make COMMIT fail on demand).
  it.runIf(dialect === 'postgres')('forgets what a failed group learned from its own charges', async () => {
    const k = fresh.db.kysely;
    await sql`create function fw_test_fail() returns trigger language plpgsql as $$ begin raise exception 'fail at commit'; end $$`.execute(k);
    await sql`create constraint trigger fw_test_fail after insert on relay_charges deferrable initially deferred for each row when (new.key like 'failed:%') execute function fw_test_fail()`.execute(k);
    try {
      // One group of two: the first charges the address cap (1), the second counts that charge and finds it full.
      const writer = new AcceptWriter(fresh.db, { maxBatch: 2, maxWaitMs: 10_000 });
      const keys = keysFor('failed', 0);
      const at = 1_950_000_000_000;
      const group = await Promise.allSettled([writer.write(postRows(keys, 'a0@d0.example', at)), writer.write(postRows(keys, 'a0@d0.example', at))]);
      expect(group.map((g) => g.status)).toEqual(['rejected', 'rejected']);
      expect(await k.selectFrom('relay_charges').select('key').where('key', 'like', 'failed:%').execute()).toHaveLength(0);
      await sql`drop trigger fw_test_fail on relay_charges`.execute(k);
      // Nothing was charged: the next post gets its auto-reply.
      expect((await writer.write(postRows(keys, 'a0@d0.example', at + 1000))).autoreply).toBe('queued');
    } finally {
      await sql`drop trigger if exists fw_test_fail on relay_charges`.execute(k);
      await sql`drop function if exists fw_test_fail()`.execute(k);
    }
  });
});
