// The database goes away under load, then comes back, and Formwarden is not restarted.
// postgres project: a private PostgreSQL cluster is restarted (pg_ctl stop -m fast, start) during a flood.
// sqlite project, its analogue: another writer holds the file's write lock, briefly (requests wait,
// busy_timeout) and then past busy_timeout (SQLITE_BUSY).
// Either way, a request that cannot be stored is answered 503 with Retry-After (never 500), nothing
// half-written remains, and the instance recovers by itself.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { prepareForm } from '../../src/client/protocol.js';
import { createTestDatabase, dbUnavailable, dialect, type TestDatabase } from '../support/db.js';
import { startTestInstance, type TestInstance } from '../support/instance.js';
import { projectRoot } from '../support/process.js';
import { SmtpSink } from '../support/smtp-sink.js';
import { waitFor } from '../support/wait.js';
import { checkInvariants, flood, keepPosting } from './invariants.js';
import { installed, PrivateCluster } from './services.js';

const sink = new SmtpSink();
let smtpPort = 0;
beforeAll(async () => {
  smtpPort = await sink.start();
});
afterAll(async () => {
  await sink.stop();
});

/** Submissions and mails of submissions not answered 201 would be half-written state: there are none. */
async function noOrphans(t: TestInstance, accepted: string[], extra = 0): Promise<void> {
  const k = t.instance.db.kysely;
  const subs = await k.selectFrom('submissions').select('id').execute();
  // Every stored submission was answered 201 (besides `extra` posted by the invariant check).
  expect(subs.length).toBe(accepted.length + extra);
  const orphans = await k.selectFrom('outbox').select('id').where('submission_id', 'is not', null).where('submission_id', 'not in', subs.map((s) => s.id)).execute();
  expect(orphans).toHaveLength(0);
}

describe.runIf(dialect === 'postgres' && !dbUnavailable() && installed('initdb/pg_ctl', PrivateCluster.available(), 'apt-get install postgresql'))('faults: PostgreSQL restarted during a flood', () => {
  let cluster: PrivateCluster;
  let t: TestInstance;

  beforeAll(async () => {
    cluster = await PrivateCluster.create();
    const dir = mkdtempSync(path.join(tmpdir(), 'fw-pgr-'));
    const db: TestDatabase = { url: cluster.url, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    t = await startTestInstance({ smtp: `smtp://127.0.0.1:${smtpPort}`, db });
  });
  afterAll(async () => {
    await t?.close();
    await t?.db.drop();
    await cluster?.destroy();
  });

  it('answers 503 + Retry-After while it is down, and recovers without a restart of Formwarden', async () => {
    const load = keepPosting(t.url, { concurrency: 2, max: 200 });
    // Deadlines for a loaded machine: while the server is down a request may wait for the pool's
    // connection timeout (10 s) before its 503.
    await waitFor(() => load.out.accepted.length >= 5, 'the flood to be under way', 90_000);
    await cluster.stop();
    // While it is down: turned away with 503, health says so too.
    await waitFor(() => load.out.unavailable.length >= 3, 'requests answered 503 during the outage', 90_000);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(503);
    await cluster.start();
    const acceptedBefore = load.out.accepted.length;
    await waitFor(() => load.out.accepted.length >= acceptedBefore + 5, 'submissions accepted again after the restart', 90_000);
    const posted = await load.stop();

    expect(posted.failed.filter((f) => f !== 503)).toEqual([]);
    for (const u of posted.unavailable) expect(u).toEqual({ retryAfter: '5', code: 'E_UNAVAILABLE' });
    await noOrphans(t, posted.accepted);
    // A mail whose SMTP answer came while the database was gone is sent again after its lease: two copies at most.
    await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted: posted.accepted, maxCopies: 2 });
  }, 300_000);
});

describe.runIf(dialect === 'sqlite')('faults: the SQLite file locked by another writer', () => {
  let t: TestInstance;
  let db: TestDatabase;
  let other: SQLite.Database | null = null;

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await startTestInstance({ smtp: `smtp://127.0.0.1:${smtpPort}`, db });
  });
  afterEach(() => {
    if (other?.inTransaction) other.exec('rollback');
    other?.close();
    other = null;
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const lockFile = () => {
    other = new SQLite(db.url.slice('sqlite:'.length));
    other.exec('begin immediate');
  };

  it('locked briefly: requests wait for the lock (busy_timeout) and are accepted', async () => {
    // Another process holds the write lock for a second (well under busy_timeout, 10 s), then commits.
    const script = `const db = new (require('better-sqlite3'))(process.argv[1]); db.exec('begin immediate'); console.log('locked'); setTimeout(() => db.exec('commit'), 1000);`;
    const holder = spawn(process.execPath, ['-e', script, db.url.slice('sqlite:'.length)], { cwd: projectRoot });
    let said = '';
    holder.stdout.on('data', (d) => (said += d));
    await waitFor(() => said.includes('locked'), 'the other writer to hold the lock');
    const posted = await flood(t.url, 3, { tag: 'brief' });
    await new Promise((r) => (holder.exitCode !== null ? r(null) : holder.once('exit', r)));
    expect(posted.failed).toEqual([]);
    expect(posted.accepted).toHaveLength(3);
    await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted: posted.accepted });
  }, 180_000);

  it('locked past busy_timeout: 503 + Retry-After, nothing written; accepted again once the lock is gone', async () => {
    const k = t.instance.db.kysely;
    const count = async () => (await k.selectFrom('submissions').select('id').execute()).length;
    const before = await count();
    await t.instance.worker.stop(); // only the request waits on the lock (better-sqlite3 waits synchronously)
    lockFile();
    // The visitor's form (token, proof-of-work) as the page holds it, sent while the file is locked.
    const form = { name: 'locked', email: 'locked@locked.example.jp', message: 'while the file is locked', ...(await prepareForm(t.url, 'contact')).fields };
    const send = () => fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(form) });
    const res = await send();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_UNAVAILABLE');
    other!.exec('commit');
    expect(await count()).toBe(before);
    expect(await k.selectFrom('submissions').select('id').where('fields', 'like', '%locked@locked%').execute()).toHaveLength(0);
    t.instance.worker.start();
    // The visitor sends the same form again: its token and proof-of-work were given back, so it is not
    // taken for a replay and reaches the owner. (The duplicate-body rule counts every attempt, the failed
    // one included, by design: it may hold back the auto-reply.)
    const again = await send();
    expect(again.status).toBe(201);
    const stored = await k.selectFrom('submissions').select(['action', 'verdict']).where('fields', 'like', '%locked@locked%').execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.verdict).not.toMatch(/REPLAYED/);
    expect(['accept', 'accept_no_autoreply']).toContain(stored[0]!.action);
    const posted = await flood(t.url, 2, { tag: 'unlocked' });
    expect(posted.accepted).toHaveLength(2);
    await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted: posted.accepted });
  }, 180_000); // busy_timeout alone is 10 s
});
