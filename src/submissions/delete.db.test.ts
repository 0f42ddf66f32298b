// Erasure requests (submissions/delete.ts): every row of one address goes, and nothing of another
// address, whatever the mix of case variants and look-alike addresses; one submission by id or receipt;
// a mail being sent right now keeps its submission; a dry run writes nothing and counts exactly.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dbUnavailable, useMigratedDatabase } from '../../test/support/db.js';
import { executeErasure, planEmailErasure, planSubmissionErasure, sameAddress } from './delete.js';

const AT = Date.UTC(2026, 3, 1);
// The requester's address, its case variants, and addresses that only look alike.
const POOL = ['a@b.jp', 'A@b.jp', 'a@B.JP', 'A@B.JP', 'xa@b.jp', 'a@b.jp.evil', 'a@xb.jp', 'ab@b.jp', 'a.@b.jp', 'b@a.jp', 'XA@B.JP', 'a@b.jpx'];
const TABLES = ['submissions', 'attachments', 'outbox', 'events', 'relay_charges', 'link_uses', 'suppressions'] as const;

interface Spec {
  address: string;
  /** The address only mentioned in the message, not as the email field. */
  mention: string;
  state: 'sent' | 'dead' | 'cancelled' | 'pending';
  file: boolean;
  bounce: boolean;
}

describe.skipIf(dbUnavailable())('erasure of an address or a submission', () => {
  const fresh = useMigratedDatabase();
  const k = () => fresh.db.kysely;

  async function clear() {
    for (const t of TABLES) await k().deleteFrom(t).execute();
  }
  const mail = (id: string, sub: string | null, kind: string, to: string, state: string, locked: number | null = null) => ({
    id, submission_id: sub, form_id: 'contact', kind, to_addr: to, reply_to: null, subject: 's', body: 'b', message_id: `<${id}@x>`, state,
    attempts: 0, next_attempt_at: AT, locked_until: locked, locked_by: locked ? 'w1' : null, last_error: null, created_at: AT, sent_at: null, raw: null, transport: null,
  });
  /** A submission with its mails (notification to the owner, auto-reply to the visitor), file, bounce, link use, cap charge. */
  async function insert(i: number, s: Spec): Promise<void> {
    const id = `s_${String(i).padStart(4, '0')}`;
    await k().insertInto('submissions').values({
      id, receipt: `R${String(i).padStart(3, '0')}-TEST`, form_id: 'contact', created_at: AT + i, ip: '192.0.2.1', user_agent: 'ua', lang: 'ja',
      fields: JSON.stringify({ name: `n${i}`, email: s.address, message: `please write to ${s.mention} soon` }),
      action: 'accept', score: 0, verdict: '{}', autoreply: 'queued', notify: 'queued', content_hash: '', autoreply_to: s.address.toLowerCase(),
    }).execute();
    const ar = `m_${id}_ar`;
    await k().insertInto('outbox').values([mail(`m_${id}_n`, id, 'notify', 'owner@example.jp', 'sent'), mail(ar, id, 'autoreply', s.address.toLowerCase(), s.state)]).execute();
    await k().insertInto('relay_charges').values({ key: `relay:address:86400:${s.address.toLowerCase()}`, outbox_id: ar, at: AT }).execute();
    if (s.file) await k().insertInto('attachments').values({ id: `a_${id}`, submission_id: id, field: 'f', filename: 'x.png', content_type: 'image/png', size: 1, sha256: '0'.repeat(64), data: Buffer.from('x'), created_at: AT }).execute();
    if (s.bounce) {
      await k().insertInto('events').values([
        { id: `sig_${ar}`, kind: 'bounce', form_id: 'contact', address: s.address.toLowerCase(), at: AT, detail: JSON.stringify({ outbox: ar, submission: id }) },
        { id: `ign_${ar}_no-failure`, kind: 'bounce_ignored', form_id: 'contact', address: s.address.toLowerCase(), at: AT, detail: '{}' },
        { id: `e_${id}_abuse`, kind: 'abuse_link', form_id: 'contact', address: s.address.toLowerCase(), at: AT, detail: id },
      ]).execute();
      await k().insertInto('link_uses').values({ id: ar, used_at: AT }).execute();
    }
  }
  /** Every row, as "table:key" with the address it is of ('' for the owner's rows). */
  async function snapshot(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const subs = await k().selectFrom('submissions').select(['id', 'fields']).execute();
    const addrOf = new Map(subs.map((s) => [s.id, (JSON.parse(s.fields) as { email: string }).email]));
    for (const s of subs) out.set(`submissions:${s.id}`, addrOf.get(s.id)!);
    for (const a of await k().selectFrom('attachments').select(['id', 'submission_id']).execute()) out.set(`attachments:${a.id}`, addrOf.get(a.submission_id)!);
    const mails = await k().selectFrom('outbox').select(['id', 'to_addr', 'submission_id']).execute();
    const mailAddr = new Map(mails.map((m) => [m.id, m.submission_id ? addrOf.get(m.submission_id)! : m.to_addr]));
    for (const m of mails) out.set(`outbox:${m.id}`, mailAddr.get(m.id)!);
    for (const e of await k().selectFrom('events').select(['id', 'address']).execute()) out.set(`events:${e.id}`, e.address ?? '');
    for (const c of await k().selectFrom('relay_charges').select(['key', 'outbox_id']).execute()) out.set(`relay_charges:${c.outbox_id}`, mailAddr.get(c.outbox_id)!);
    for (const l of await k().selectFrom('link_uses').select('id').execute()) out.set(`link_uses:${l.id}`, mailAddr.get(l.id)!);
    for (const s of await k().selectFrom('suppressions').select('address').execute()) out.set(`suppressions:${s.address}`, s.address);
    return out;
  }

  it('removes every row of the address (case-insensitive, whole value) and nothing of any other address', async () => {
    const spec = fc.record({
      address: fc.constantFrom(...POOL),
      mention: fc.constantFrom(...POOL),
      state: fc.constantFrom('sent' as const, 'dead' as const, 'cancelled' as const, 'pending' as const),
      file: fc.boolean(),
      bounce: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 10 }), fc.constantFrom(...POOL), fc.boolean(), fc.constantFrom(...POOL), async (specs, target, lone, loneTo) => {
        await clear();
        for (const [i, s] of specs.entries()) await insert(i, s);
        // A mail and a bounce with no submission (its inquiry already deleted), and the suppression entry.
        if (lone) {
          await k().insertInto('outbox').values(mail('m_lone', null, 'autoreply', loneTo, 'sent')).execute();
          await k().insertInto('events').values({ id: 'sig_m_lone', kind: 'bounce', form_id: 'contact', address: loneTo, at: AT, detail: '{}' }).execute();
        }
        await k().insertInto('suppressions').values({ address: 'a@b.jp', reason: 'bounce', note: '', created_at: AT }).execute();
        const before = await snapshot();

        const plan = await planEmailErasure(k(), target);
        const r = await executeErasure(k(), plan, { now: AT, dryRun: false });
        const after = await snapshot();
        const expected = new Map([...before].filter(([key, addr]) => key.startsWith('suppressions:') || !sameAddress(addr, target)));
        expect(after).toEqual(expected);
        // The counts name what went, per table.
        for (const t of TABLES) expect(r.rows[t]).toBe([...before.keys()].filter((key) => key.startsWith(`${t}:`) && !after.has(key)).length);
        // Mentioned in a message only: listed, not deleted.
        const mentionedOnly = specs.filter((s) => !sameAddress(s.address, target) && sameAddress(s.mention, target)).length;
        expect(plan.mentioned).toHaveLength(mentionedOnly);
        expect(r.kept).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  it('a dry run writes nothing and counts exactly what the real run deletes; the suppression entry goes only when asked', async () => {
    await clear();
    for (const [i, address] of ['a@b.jp', 'A@B.jp', 'xa@b.jp'].entries()) await insert(i, { address, mention: 'x@y.jp', state: 'sent', file: true, bounce: true });
    await k().insertInto('suppressions').values({ address: 'a@b.jp', reason: 'link', note: '', created_at: AT }).execute();
    const before = await snapshot();
    const dry = await executeErasure(k(), await planEmailErasure(k(), 'a@b.jp'), { now: AT, dryRun: true, includeSuppression: true });
    expect(dry.dryRun).toBe(true);
    expect(await snapshot()).toEqual(before);
    expect(dry.rows).toMatchObject({ submissions: 2, attachments: 2, outbox: 4, events: 6, relay_charges: 2, link_uses: 2, suppressions: 1 });
    const real = await executeErasure(k(), await planEmailErasure(k(), 'a@b.jp'), { now: AT, dryRun: false });
    expect(real.rows).toEqual({ ...dry.rows, suppressions: 0 });
    expect(real.plan.suppression).toBe('a@b.jp');
    expect((await k().selectFrom('suppressions').select('address').execute()).map((s) => s.address)).toEqual(['a@b.jp']);
    const gone = await executeErasure(k(), await planEmailErasure(k(), 'a@b.jp'), { now: AT, dryRun: false, includeSuppression: true });
    expect(gone.rows).toMatchObject({ submissions: 0, suppressions: 1 });
    expect(await k().selectFrom('submissions').select('id').execute()).toHaveLength(1);
  });

  it('one submission by id or receipt; a pending mail no worker holds goes with it, one being sent keeps it', async () => {
    await clear();
    await insert(1, { address: 'p@q.jp', mention: '', state: 'pending', file: true, bounce: false });
    await insert(2, { address: 'p@q.jp', mention: '', state: 'pending', file: true, bounce: false });
    await insert(3, { address: 'p@q.jp', mention: '', state: 'sent', file: false, bounce: false });
    // Submission 2's auto-reply is claimed by a worker until AT + 60 s: it is being sent.
    await k().updateTable('outbox').set({ locked_until: AT + 60_000, locked_by: 'w1' }).where('id', '=', 'm_s_0002_ar').execute();

    const one = await executeErasure(k(), (await planSubmissionErasure(k(), 's_0001'))!, { now: AT, dryRun: false });
    expect(one.rows).toMatchObject({ submissions: 1, attachments: 1, outbox: 2 });
    const busy = await executeErasure(k(), (await planSubmissionErasure(k(), 'r002-test'))!, { now: AT, dryRun: false });
    expect(busy.kept).toEqual(['s_0002']);
    expect(busy.rows).toMatchObject({ submissions: 0, attachments: 0, outbox: 0 });
    expect(await k().selectFrom('outbox').select('id').where('submission_id', '=', 's_0002').execute()).toHaveLength(2);
    // After the lease, nothing holds it: it goes.
    const later = await executeErasure(k(), (await planSubmissionErasure(k(), 'R002-TEST'))!, { now: AT + 60_001, dryRun: false });
    expect(later).toMatchObject({ kept: [], rows: { submissions: 1, attachments: 1, outbox: 2 } });
    expect(await planSubmissionErasure(k(), 's_0001')).toBeNull();
    expect((await k().selectFrom('submissions').select('id').execute()).map((s) => s.id)).toEqual(['s_0003']);
  });
});
