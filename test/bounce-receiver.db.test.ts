// `formwarden serve` with VERP and the bounce receiver, as separate processes: it says where the
// receiver listens, a DSN sent over SMTP by the receiving MTA shows on `submissions list`, and
// `analyze --config` matches that DSN to the outbox.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dbUnavailable, type TestDatabase } from './support/db.js';
import { testConfigYaml } from './support/instance.js';
import { runCli, runCliAsync, startServer, type ServerProcess } from './support/process.js';
import { RemoteMta } from './support/remote-mta.js';
import { waitFor } from './support/wait.js';

describe.skipIf(dbUnavailable())('formwarden serve with a bounce receiver', () => {
  let db: TestDatabase;
  let config: string;
  let rx = { host: '127.0.0.1', port: 0 };
  const mta = new RemoteMta({ unknownDomains: ['nowhere.example'], bounceTo: () => rx });
  let server: ServerProcess | null = null;

  beforeAll(async () => {
    const port = await mta.start();
    db = await createTestDatabase();
    config = path.join(db.dir, 'formwarden.yaml');
    writeFileSync(config, testConfigYaml({ dbUrl: db.url, transport: `smtp://127.0.0.1:${port}`, extra: 'bounces:\n  verp: { domain: bounce.example.jp }\n  smtp: { port: 0 }\n' }));
  });
  afterAll(async () => {
    await server?.kill();
    await mta.stop();
    await db?.drop();
  });

  it('receives the DSN for an auto-reply; submissions list and analyze --config show it', async () => {
    server = await startServer(['--config', config]);
    // Printed before the "listening on" line startServer waits for.
    const m = /formwarden: bounce receiver \(SMTP\) on ([\d.]+):(\d+) for bounce\+…@bounce\.example\.jp/.exec(server.output());
    expect(m).not.toBeNull();
    rx = { host: m![1]!, port: Number(m![2]) };

    const r = await runCliAsync(['submit', '--url', server.url, '--form', 'contact', '--field', 'name=N', '--field', 'email=nosuchuser@nowhere.example', '--field', 'message=hello']);
    expect(r.status).toBe(0);
    const id = (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { id: string }).id;
    await waitFor(() => mta.bounced.length === 1, 'the DSN to be sent');
    await mta.settled();
    expect(mta.bounced[0]!.response).toMatch(/^250 /);
    expect(mta.bounced[0]!.to).toMatch(/^bounce\+[0-9a-z]{22}-[0-9a-z]{13}@bounce\.example\.jp$/);

    type Listed = { id: string; bounces: { mail: string; reason: string; status: string; address: string }[] };
    const listed = await waitFor(
      () => (JSON.parse(runCli(['--config', config, 'submissions', 'list', '--json']).stdout) as Listed[]).find((s) => s.id === id && s.bounces.length > 0),
      'the bounce on the submission',
      30_000,
      300,
    );
    expect(listed.bounces).toEqual([expect.objectContaining({ mail: 'autoreply', reason: 'userunknown', status: '5.1.1', address: 'nosuchuser@nowhere.example' })]);
    expect(runCli(['--config', config, 'submissions', 'list']).stdout).toContain('autoreply userunknown 5.1.1');
    expect(runCli(['--config', config, 'suppress', 'list']).stdout).toContain('nosuchuser@nowhere.example');

    const eml = path.join(db.dir, 'dsn.eml');
    writeFileSync(eml, mta.bounced[0]!.raw);
    const withDb = JSON.parse(runCli(['--config', config, 'analyze', eml, '--json']).stdout) as { byOrigin: Record<string, number> };
    expect(withDb.byOrigin.ours).toBe(1);
  }, 180_000); // two processes and several CLI runs: room for a loaded machine
});
