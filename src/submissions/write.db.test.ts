// Group commit on the accept path (src/submissions/write.ts, issue #14 item 3): posts arriving together share
// one transaction, each is answered only after its commit, and one that cannot be stored fails alone.
// On SQLite and PostgreSQL; the crash test on a SQLite file in a process of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDbUnavailable, openAndMigrate } from '../store/db.js';
import { dbUnavailable, dialect } from '../../test/support/db.js';
import { PLAIN_POST_DEFENSES, startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { projectRoot } from '../../test/support/process.js';
import { waitFor } from '../../test/support/wait.js';
import { acceptSubmission, RECEIPT_DRAWS, writerFor, type IntakeDeps } from './accept.js';
import { AcceptWriter } from './write.js';
import { formatReceipt, receiptsFor, type Receipt } from './receipt.js';

/** A visitor's post as the hosted form sends it (the honeypot empty); each its own mailbox and domain. */
const post = (n: number, tag: string) => new URLSearchParams({ name: `Visitor ${n}`, email: `v${n}@${tag}-${n}.example.jp`, message: `Question number ${n} about opening hours.`, website: '' }).toString();

describe.skipIf(dbUnavailable())('group commit of accepted submissions', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false, defenses: PLAIN_POST_DEFENSES });
  });
  afterAll(async () => {
    await t?.close();
  });
  const k = () => t.instance.db.kysely;

  it('(b) a receipt number drawn twice in one group is drawn again: both posts are stored, each with its own number in its mails', async () => {
    // A writer of its own whose group is full at 5 (and waits for them): the five share one transaction.
    const writer = new AcceptWriter(t.instance.db, { maxBatch: 5, maxWaitMs: 10_000 });
    const before = { ...writer.stats };
    const form = t.instance.config.forms[0]!;
    // A sequence number far past the ones handed out, with a receipt of its own.
    const clashSeq = 2 ** 39 + 17;
    const clash: Receipt = { seq: clashSeq, receipt: formatReceipt(clashSeq) };
    const deps = (draws: Receipt[] = []): IntakeDeps => ({ config: t.instance.config, db: t.instance.db, clock: { now: () => new Date() }, fromAddress: 'info@example.jp', writer, newReceipt: async () => draws.shift() ?? receiptsFor(t.instance.db.kysely).next() });
    const input = (n: number) => ({ form, raw: { name: `B ${n}`, email: `b${n}@b-${n}.example.jp`, message: `Second group, post ${n}.` }, ip: '127.0.0.1', userAgent: 'test', lang: 'en' as const });
    // Posts 1 and 3 draw the same number first: whichever reaches the writer second finds it taken by the insert.
    const results = await Promise.all([0, 1, 2, 3, 4].map((n) => acceptSubmission(deps(n === 1 || n === 3 ? [clash] : []), input(n))));
    expect(results.map((r) => r.kind)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted']);
    const receipts = results.map((r) => (r.kind === 'accepted' ? r.receipt : ''));
    expect(new Set(receipts).size).toBe(5);
    expect([receipts[1], receipts[3]].filter((r) => r === clash.receipt)).toHaveLength(1);
    // One group of five, then the one that lost the number written again on its own.
    expect(writer.stats.groups - before.groups).toBe(2);
    expect(writer.stats.writes - before.writes).toBe(6);
    // The group of five was written a second time, with savepoints, after the insert refused the number.
    expect(writer.stats.retried - before.retried).toBe(1);
    for (const [n, r] of results.entries()) {
      if (r.kind !== 'accepted') continue;
      const stored = await k().selectFrom('submissions').select(['receipt', 'fields']).where('id', '=', r.id).executeTakeFirstOrThrow();
      expect([stored.receipt, JSON.parse(stored.fields).name]).toEqual([r.receipt, `B ${n}`]);
      // BASE_FORM: the auto-reply body is "Receipt {{receipt_id}}": the number stored, not the one found taken.
      const mails = await k().selectFrom('outbox').select(['kind', 'body']).where('submission_id', '=', r.id).execute();
      expect(mails.map((m) => m.kind).sort()).toEqual(['autoreply', 'notify']);
      expect(mails.find((m) => m.kind === 'autoreply')?.body).toBe(`Receipt ${r.receipt}`);
      // One cap charge per cap key for its one auto-reply: the failed first try charged nothing.
      expect(await k().selectFrom('relay_charges').select('outbox_id').where('key', 'like', `relay:address:%b-${n}.example.jp`).execute()).toHaveLength(1);
    }
  });

  it('(b2) a post whose every receipt number is taken fails alone, as "try again", with nothing of it stored; the rest of its group commits', async () => {
    const writer = new AcceptWriter(t.instance.db, { maxBatch: 5, maxWaitMs: 10_000 });
    const before = { ...writer.stats };
    const form = t.instance.config.forms[0]!;
    const row = await k().selectFrom('submissions').select(['receipt', 'receipt_seq']).where('receipt_seq', 'is not', null).executeTakeFirstOrThrow();
    const taken: Receipt = { receipt: row.receipt!, seq: Number(row.receipt_seq) };
    const deps = (always?: Receipt): IntakeDeps => ({ config: t.instance.config, db: t.instance.db, clock: { now: () => new Date() }, fromAddress: 'info@example.jp', writer, ...(always ? { newReceipt: async () => always } : {}) });
    const input = (n: number) => ({ form, raw: { name: `C ${n}`, email: `c${n}@c-${n}.example.jp`, message: `Taken group, post ${n}.` }, ip: '127.0.0.1', userAgent: 'test', lang: 'en' as const });
    const settled = await Promise.allSettled([0, 1, 2, 3, 4].map((n) => acceptSubmission(deps(n === 2 ? taken : undefined), input(n))));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(isDbUnavailable((settled[2] as PromiseRejectedResult).reason)).toBe(true); // answered 503 with Retry-After
    // Its first try was in the group of five, then every other draw on its own.
    expect(writer.stats.groups - before.groups).toBe(RECEIPT_DRAWS);
    expect(writer.stats.writes - before.writes).toBe(4 + RECEIPT_DRAWS);
    // Every group it was in failed once without savepoints and was written again with them.
    expect(writer.stats.retried - before.retried).toBe(RECEIPT_DRAWS);
    const names = await k().selectFrom('submissions').select('fields').where('fields', 'like', '%Taken group%').execute();
    expect(names.map((r) => JSON.parse(r.fields).name).sort()).toEqual(['C 0', 'C 1', 'C 3', 'C 4']);
    // Nothing of the failed one remains: no mail, no cap charge (its charges were made inside its savepoint each time).
    expect(await k().selectFrom('outbox').select('id').where('body', 'like', '%C 2%').execute()).toHaveLength(0);
    expect(await k().selectFrom('relay_charges').select('outbox_id').where('key', 'like', 'relay:address:%c-2.example.jp').execute()).toHaveLength(0);
    expect(await k().selectFrom('relay_charges').select('outbox_id').where('key', 'like', 'relay:address:%c-3.example.jp').execute()).toHaveLength(1);
  });

  // The bounded wait is for posts on their way to the writer: a lone post does not wait it out, and a group
  // waits until those on their way have come (or gone without a write), not longer. The writers here wait up
  // to 10 minutes, so a test that passed by waiting it out would hit the test's timeout instead.
  const lone = (n: number, tag: string) => ({ form: t.instance.config.forms[0]!, raw: { name: `${tag} ${n}`, email: `${tag}${n}@${tag}-${n}.example.jp`, message: `Waiting test, post ${n}.` }, ip: '127.0.0.1', userAgent: 'test', lang: 'en' as const });
  const depsWith = (writer: AcceptWriter): IntakeDeps => ({ config: t.instance.config, db: t.instance.db, clock: { now: () => new Date() }, fromAddress: 'info@example.jp', writer });

  it('(d) a lone post is written at once, however long the writer may wait for others', async () => {
    const writer = new AcceptWriter(t.instance.db, { maxWaitMs: 600_000 });
    const r = await acceptSubmission(depsWith(writer), lone(0, 'd'));
    expect(r.kind).toBe('accepted');
    expect(writer.stats).toEqual({ groups: 1, writes: 1, retried: 0 });
  });

  it('(e) a group waits for the post still on its way, then commits both together; a post that leaves without a write does not hold it', async () => {
    const writer = new AcceptWriter(t.instance.db, { maxWaitMs: 600_000 });
    const deps = depsWith(writer);
    // A second post is on its way (arrived, not yet written): the first one's group waits for it.
    const standIn = writer.arrive();
    const first = acceptSubmission(deps, lone(1, 'e'));
    await waitFor(() => writer.queued === 1, 'the first post queued');
    expect(writer.stats.groups).toBe(0);
    // It comes (the stand-in leaves as the real post sets out): both are written in one group.
    const second = acceptSubmission(deps, lone(2, 'e'));
    standIn();
    const [a, b] = await Promise.all([first, second]);
    expect([a.kind, b.kind]).toEqual(['accepted', 'accepted']);
    expect(writer.stats).toEqual({ groups: 1, writes: 2, retried: 0 });
    // A refused post (invalid: no write) leaves: the next lone post is not held for it.
    expect((await acceptSubmission(deps, { ...lone(3, 'e'), raw: { name: '', email: 'not an address', message: '' } })).kind).toBe('invalid');
    expect((await acceptSubmission(deps, lone(4, 'e'))).kind).toBe('accepted');
    expect(writer.stats).toEqual({ groups: 2, writes: 3, retried: 0 });
  });

  it('(a) 30 concurrent posts: every one answered 201 and stored with its mails; the form cap held exactly across the group commits', async () => {
    const writer = writerFor(t.instance.db);
    const before = { ...writer.stats };
    const formHour = async () => (await k().selectFrom('relay_charges').select('outbox_id').where('key', '=', 'relay:form:contact:hour').execute()).length;
    const room = 20 - (await formHour());
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: post(i, 'a') }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(30).fill(201));
    const ids = await Promise.all(answers.map(async (r) => ((await r.json()) as { id: string }).id));
    const subs = await k().selectFrom('submissions').select(['id', 'autoreply', 'notify', 'action']).where('id', 'in', ids).execute();
    expect(subs).toHaveLength(30);
    const mails = await k().selectFrom('outbox').select(['submission_id', 'kind']).where('submission_id', 'in', ids).execute();
    for (const s of subs) {
      expect(s.action).toBe('accept');
      const kinds = mails.filter((m) => m.submission_id === s.id).map((m) => m.kind).sort();
      // Each submission's stored states say which mails it has, and exactly those rows exist.
      expect(kinds).toEqual([...(s.autoreply === 'queued' ? ['autoreply'] : []), ...(s.notify === 'queued' ? ['notify'] : [])]);
    }
    // perFormHour is 20 by default: charged one after another inside the shared transactions, never more.
    expect(room).toBeGreaterThan(0);
    expect(subs.filter((s) => s.autoreply === 'queued')).toHaveLength(room);
    expect(subs.filter((s) => s.autoreply === 'skipped:cap:form-hour')).toHaveLength(30 - room);
    expect(await formHour()).toBe(20);
    // All through the instance's one writer (whether HTTP requests arrive together enough to share a group is
    // up to the event loop; (b) shows a shared group).
    expect(writer.stats.writes - before.writes).toBe(30);
    expect(writer.stats.groups - before.groups).toBeLessThanOrEqual(30);
    // No write failed: every group was written once, without savepoints.
    expect(writer.stats.retried - before.retried).toBe(0);
  });
});

describe.skipIf(dialect !== 'sqlite')('a 201 is sent only after its commit (SQLite file, process killed mid-burst)', () => {
  let dir = '';
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('(c) every submission answered 201 before the kill is in the database after a restart, with its mails', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fw-crash-'));
    const file = path.join(dir, 'crash.db');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/support/accept-child.ts'), file], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise((r) => child.once('exit', r));
    const url = await waitFor(() => /LISTENING (\S+)/.exec(out)?.[1], 'the child to listen', 60_000);
    const accepted: string[] = [];
    let killed = false;
    let sent = 0;
    // Eight visitors posting back to back; the process is killed (SIGKILL: no shutdown, no flush) mid-burst.
    const visitor = async (v: number) => {
      for (let i = 0; !killed; i++) {
        sent++;
        try {
          const r = await fetch(`${url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: post(v * 10_000 + i, 'c') });
          if (r.status === 201) accepted.push(((await r.json()) as { id: string }).id);
        } catch {
          return; // the connection died with the process: no answer, no promise made
        }
      }
    };
    const visitors = Array.from({ length: 8 }, (_, v) => visitor(v));
    await waitFor(() => accepted.length >= 150 || undefined, '150 answers', 60_000);
    killed = true;
    child.kill('SIGKILL');
    await exited;
    await Promise.all(visitors);
    expect(sent).toBeGreaterThanOrEqual(accepted.length);
    expect(accepted.length).toBeGreaterThanOrEqual(150);

    const db = await openAndMigrate(`sqlite:${file}`);
    try {
      const ids = [...new Set(accepted)];
      const stored = new Set<string>();
      for (let i = 0; i < ids.length; i += 200) {
        for (const r of await db.kysely.selectFrom('submissions').select('id').where('id', 'in', ids.slice(i, i + 200)).execute()) stored.add(r.id);
      }
      expect(ids.filter((id) => !stored.has(id))).toEqual([]);
      const withNotify = await db.kysely.selectFrom('submissions').select('id').where('id', 'in', ids.slice(0, 200)).where('notify', '=', 'queued').execute();
      const notified = await db.kysely.selectFrom('outbox').select('submission_id').where('kind', '=', 'notify').where('submission_id', 'in', withNotify.map((r) => r.id)).execute();
      expect(notified).toHaveLength(withNotify.length);
    } finally {
      await db.close();
    }
  });
});
