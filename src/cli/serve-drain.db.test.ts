// `formwarden serve` drains on SIGTERM (docs/scale.md): a real process (dist/), a real SMTP sink. At the
// signal /healthz answers 503 with Retry-After while requests are still served for server.drainGrace; then
// the server stops accepting, and a body upload still arriving completes with 201, stored with its mail.
// The worker takes no new mail: a mail it is sending finishes, the ones it had claimed but not begun are
// released at once (no lease left in the database), and the process exits 0. A second signal exits at once.
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../store/db.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { OPEN_DEFENSES, testConfigYaml } from '../../test/support/instance.js';
import { cliPath, startServer, type ServerProcess } from '../../test/support/process.js';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { waitFor } from '../../test/support/wait.js';

const form = (i: number) => new URLSearchParams({ name: `Drain ${i}`, email: `visitor${i}@example.jp`, message: `in flight ${i}` }).toString();

/** Starts a POST whose body arrives in two parts: the first now, the rest when `finish` is called. */
function slowPost(url: URL, body: string) {
  const socket: Socket = connect(Number(url.port), url.hostname);
  let got = '';
  socket.on('data', (d) => (got += d.toString('latin1')));
  const answer = new Promise<string>((resolve, reject) => {
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
  const cut = Math.floor(body.length / 2);
  socket.write(
    `POST /api/forms/contact/submissions HTTP/1.1\r\nHost: ${url.host}\r\nAccept: application/json\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, cut)}`,
  );
  return { answer, finish: () => socket.write(body.slice(cut)) };
}

const health = async (url: URL) => {
  try {
    const res = await fetch(new URL('/healthz', url));
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
  } catch {
    return { status: 0, retryAfter: null, body: '' }; // refused: the server no longer accepts
  }
};

describe.skipIf(dbUnavailable())('serve drains on SIGTERM', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function setup(grace: string) {
    const { config, db, sink } = await configFor(grace);
    const server = await startServer(['--config', config], { cwd: db.dir });
    cleanup.push(() => server.kill('SIGKILL'));
    const k: Db = openDb(db.url, db.dir);
    cleanup.push(() => k.close());
    return { server, sink, k: k.kysely, url: new URL(server.url) };
  }

  /** A database, an SMTP sink and a configuration file for them with this drain grace. */
  async function configFor(grace: string) {
    const db: TestDatabase = await createTestDatabase();
    cleanup.push(() => db.drop());
    const sink = new SmtpSink();
    await sink.start();
    cleanup.push(() => sink.stop());
    // One SMTP connection: the worker sends one claimed mail at a time, the others wait under its lease.
    const yaml = testConfigYaml({ dbUrl: db.url, transport: `smtp://127.0.0.1:${sink.port}`, defenses: OPEN_DEFENSES })
      .replace('trustProxy: [127.0.0.1]', `trustProxy: [127.0.0.1], drainGrace: ${grace}`)
      .replace('  retry: [1s, 1s, 1s]', '  retry: [1s, 1s, 1s]\n  pool: { maxConnections: 1 }')
      // Three notifications per inquiry, written in one transaction: the worker claims them together.
      .replace('notify: { to: [owner@example.jp]', 'notify: { to: [owner@example.jp, owner2@example.jp, owner3@example.jp]');
    const config = path.join(db.dir, 'formwarden.yaml');
    writeFileSync(config, yaml);
    return { config, db, sink };
  }

  const exitCode = (s: ServerProcess) => new Promise<number | null>((resolve) => (s.child.exitCode !== null ? resolve(s.child.exitCode) : s.child.once('exit', (code) => resolve(code))));

  it('503 with Retry-After at once, in-flight requests complete with 201 and their mails, claimed mail released, exit 0', async () => {
    const { server, sink, k, url } = await setup('4s');
    expect((await health(url)).status).toBe(200);

    // Three inquiries, each with three notifications due at once. The sink holds the first mail sent; the
    // others of that batch stay claimed under the worker's lease.
    sink.mode = 'hold';
    for (let i = 0; i < 3; i++) {
      const res = await fetch(new URL('/api/forms/contact/submissions', url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form(i) });
      expect(res.status).toBe(201);
    }
    await waitFor(() => sink.held.length === 1, 'the first mail to reach the sink and be held');
    const leased = await waitFor(async () => {
      const rows = await k.selectFrom('outbox').select(['id', 'locked_by']).where('state', '=', 'pending').where('locked_by', 'is not', null).execute();
      return rows.length >= 2 ? rows : null;
    }, 'the worker to claim the other mails');

    const slow = slowPost(url, form(99));
    const exited = exitCode(server);
    server.child.kill('SIGTERM');
    const draining = await waitFor(async () => {
      const h = await health(url);
      return h.status === 503 ? h : null;
    }, 'the health check to answer 503');
    expect(Number(draining.retryAfter)).toBeGreaterThan(0);
    expect(JSON.parse(draining.body)).toEqual({ status: 'draining' });

    // During the grace the process still serves: a new post is stored (and told to close its connection).
    const late = await fetch(new URL('/api/forms/contact/submissions', url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form(50) });
    expect(late.status).toBe(201);
    expect(late.headers.get('connection')).toBe('close');

    // The mail being sent finishes; the worker takes nothing more.
    sink.mode = 'accept';
    await sink.release();
    // After the grace the server refuses new connections, while the slow upload is still in flight.
    await waitFor(async () => (await health(url)).status === 0, 'the server to stop accepting', 60_000);
    slow.finish();
    const answer = await slow.answer;
    expect(answer).toMatch(/^HTTP\/1\.1 201 /);
    const receipt = /"id":"([^"]+)"/.exec(answer)?.[1];
    expect(receipt).toBeTruthy();

    expect(await exited).toBe(0);
    expect(server.output()).toMatch(/outbox lease\(s\) released/);

    // Every 201 is stored with its notification; only the mail that was being sent left.
    const subs = await k.selectFrom('submissions').select(['id']).execute();
    expect(subs.length).toBe(5);
    expect(subs.map((s) => s.id)).toContain(receipt);
    const notify = await k.selectFrom('outbox').select(['id', 'submission_id', 'state', 'locked_by', 'locked_until', 'attempts']).where('kind', '=', 'notify').execute();
    expect(new Set(notify.map((m) => m.submission_id))).toEqual(new Set(subs.map((s) => s.id)));
    expect(sink.received.length).toBe(1);
    expect(notify.filter((m) => m.state === 'sent')).toHaveLength(1);
    // The mails it had claimed but not begun are pending again now, with no lease: another process sends them at once.
    for (const row of leased.filter((r) => !notify.some((m) => m.id === r.id && m.state === 'sent'))) {
      const now = notify.find((m) => m.id === row.id) ?? (await k.selectFrom('outbox').select(['id', 'state', 'locked_by', 'locked_until', 'attempts']).where('id', '=', row.id).executeTakeFirstOrThrow());
      expect(now).toMatchObject({ state: 'pending', locked_by: null, locked_until: null, attempts: 0 });
    }
    const stillLeased = await k.selectFrom('outbox').select('id').where('locked_by', 'is not', null).execute();
    expect(stillLeased).toEqual([]);
  }, 120_000);

  it('a second SIGTERM during the grace exits at once', async () => {
    const { server, url } = await setup('60s');
    const exited = exitCode(server);
    server.child.kill('SIGTERM');
    let last = { status: -1, body: '' };
    await waitFor(async () => (last = await health(url)).status === 503, 'the health check to answer 503').catch((e: Error) => {
      throw new Error(`${e.message}; last answer ${last.status} ${last.body}; exit code ${server.child.exitCode}; server output:\n${server.output().slice(-3000)}`);
    });
    server.child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(server.output()).toMatch(/SIGTERM again: exiting without draining/);
  }, 120_000);

  it('SIGINT (Ctrl-C) drains without the grace: with an hour of drainGrace it still stops and exits 0', async () => {
    const { server } = await setup('1h');
    const exited = exitCode(server);
    server.child.kill('SIGINT');
    // Waiting the hour would outlast the test's timeout.
    expect(await exited).toBe(0);
    expect(server.output()).toMatch(/SIGINT: draining \(health check 503\), closing in 0 s/);
    expect(server.output()).toMatch(/outbox lease\(s\) released/);
  }, 120_000);

  it('a signal sent the moment the "listening" line is printed still drains: the handlers are in before the line', async () => {
    const { config, db } = await configFor('1h');
    // A preload that signals the process from inside the write of that line: no later code of serve has run.
    const hook = path.join(db.dir, 'signal-on-listening.mjs');
    writeFileSync(
      hook,
      `const write = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
  const r = write(chunk, ...rest);
  if (String(chunk).includes('listening on')) process.kill(process.pid, 'SIGINT');
  return r;
};
`,
    );
    const child = spawn(process.execPath, ['--import', pathToFileURL(hook).href, cliPath, '--config', config, 'serve'], { cwd: db.dir });
    cleanup.push(async () => void child.kill('SIGKILL'));
    let out = '';
    child.stderr.on('data', (d) => (out += d));
    child.stdout.on('data', (d) => (out += d));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, sig) => resolve([c, sig])));
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(out).toMatch(/listening on/);
    expect(out).toMatch(/SIGINT: draining \(health check 503\), closing in 0 s/);
  }, 120_000);
});
