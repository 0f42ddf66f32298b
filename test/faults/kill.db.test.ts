// SIGKILL of a real `formwarden serve` process in the middle of a flood, then a restart on the same
// database: every submission answered 201 is stored and its mails go out, each at most twice (a mail
// whose SMTP answer came just before the kill is sent again once its lease ends: at least once).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../support/db.js';
import { testConfigYaml } from '../support/instance.js';
import { startServer } from '../support/process.js';
import { SmtpSink } from '../support/smtp-sink.js';
import { openDb } from '../../src/store/db.js';
import { checkInvariants, flood } from './invariants.js';

describe.skipIf(dbUnavailable())('faults: SIGKILL in the middle of a flood', () => {
  const sink = new SmtpSink();
  let db: TestDatabase;
  let config: string;

  beforeAll(async () => {
    const port = await sink.start();
    db = await createTestDatabase();
    config = path.join(db.dir, 'formwarden.yaml');
    writeFileSync(config, testConfigYaml({ dbUrl: db.url, transport: `smtp://127.0.0.1:${port}` }));
  });
  afterAll(async () => {
    await sink.stop();
    await db.drop();
  });

  it('restarted on the same database, it delivers every accepted submission without manual steps', async () => {
    const server = await startServer(['--config', config]);
    let killed: Promise<void> | null = null;
    const posted = await flood(server.url, 20, {
      concurrency: 4,
      // At 8 or later: two answers arriving together report 9 twice, never 8.
      onAccepted: (n) => {
        if (n >= 8 && !killed) killed = server.kill('SIGKILL');
      },
    });
    await killed;
    expect(server.child.signalCode).toBe('SIGKILL');
    // Killed mid-way: some visitors got no answer (they would send again); the others got 201.
    expect(posted.accepted.length).toBeGreaterThanOrEqual(8);
    expect(posted.failed.length).toBeGreaterThan(0);

    const again = await startServer(['--config', config]);
    const store = openDb(db.url, db.dir); // a second connection, as the CLI opens it
    try {
      await checkInvariants({ db: store, sink, url: again.url, accepted: posted.accepted, maxCopies: 2 });
      for (const id of posted.accepted) {
        const mails = await store.kysely.selectFrom('outbox').select(['kind', 'state']).where('submission_id', '=', id).execute();
        expect(mails.map((m) => `${m.kind}:${m.state}`).sort()).toEqual(['autoreply:sent', 'notify:sent']);
      }
    } finally {
      await store.close();
      await again.kill();
    }
  }, 240_000); // waits out the killed process's leases (30 s), on a possibly loaded machine
});
