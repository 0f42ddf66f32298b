// The `formwarden` command as separate processes: configuration errors, `submit` against a server
// that delivers to a real SMTP server, the data commands, and a SIGKILL while mail is queued.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postSubmission, prepareForm, submitLikeAPerson } from '../src/client/protocol.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from './support/db.js';
import { TEST_DEFENSES, testConfigYaml } from './support/instance.js';
import { runCli, runCliAsync, startServer } from './support/process.js';
import { SmtpSink } from './support/smtp-sink.js';
import { waitFor } from './support/wait.js';

describe('formwarden command', () => {
  it('--help lists the commands', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    for (const cmd of ['init', 'serve', 'check-config', 'submit', 'submissions', 'mail', 'outbox']) expect(r.stdout).toContain(cmd);
  });

  it('an invalid configuration stops start-up with exit code 2, naming the key path and the fix', async () => {
    const db = await createTestDatabase();
    const file = path.join(db.dir, 'bad.yaml');
    writeFileSync(file, testConfigYaml({ dbUrl: db.url }).replace('port: 0', 'port: 99999'));
    for (const cmd of ['check-config', 'serve']) {
      const r = runCli(['--config', file, cmd]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`Invalid configuration in ${file}`);
      expect(r.stderr).toContain('server.port: Too big: expected number to be <=65535. Fix: change the value to fit');
    }
    const missing = runCli(['--config', path.join(db.dir, 'nope.yaml'), 'serve']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('the file does not exist. Fix: create it with `npx formwarden init');
    await db.drop();
  }, 120_000); // three CLI processes: room for a loaded machine

  it('init writes a commented configuration with generated secrets that check-config accepts', async () => {
    const db = await createTestDatabase();
    const file = path.join(db.dir, 'formwarden.yaml');
    expect(runCli(['--config', file, 'init']).status).toBe(0);
    const again = runCli(['--config', file, 'init']);
    expect(again.status).toBe(1);
    const check = runCli(['--config', file, 'check-config']);
    expect(check.stdout).toContain('configuration OK');
    expect(check.status).toBe(0);
    await db.drop();
  }, 120_000);
});

describe.skipIf(dbUnavailable())('formwarden serve + submit against a real SMTP server', () => {
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

  it('submit delivers the notification (Reply-To = visitor) and the auto-reply (To = visitor only)', async () => {
    const server = await startServer(['--config', config]);
    try {
      const fields = ['--field', 'name=佐藤 花子', '--field', 'email=hanako@example.jp', '--field', 'message=見積もりをお願いします'];
      const r = await runCliAsync(['submit', '--url', server.url, '--form', 'contact', ...fields, '--header', 'X-Test: yes']);
      expect(r.stdout).toMatch(/HTTP 201\n\{"id":"s_[0-9a-z]{22}","receipt":"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}","status":"accepted"\}/);
      expect(r.status).toBe(0);
      await waitFor(() => sink.toKind('owner@example.jp', 'notify').length >= 1 && sink.to('hanako@example.jp').length >= 1, 'both mails at the SMTP server');
      const owner = sink.toKind('owner@example.jp', 'notify');
      expect(owner).toHaveLength(1);
      expect(owner[0]!.parsed.replyTo?.value.map((a) => a.address)).toEqual(['hanako@example.jp']);
      expect(owner[0]!.parsed.subject).toBe('[Contact] 佐藤 花子');
      const reply = sink.to('hanako@example.jp');
      expect(reply).toHaveLength(1);
      expect(reply[0]!.envelopeTo).toEqual(['hanako@example.jp']);
      expect(reply[0]!.parsed.to).toMatchObject({ value: [{ address: 'hanako@example.jp' }] });
      expect(reply[0]!.parsed.cc).toBeUndefined();
      expect(reply[0]!.parsed.bcc).toBeUndefined();

      const bad = await runCliAsync(['submit', '--url', server.url, '--form', 'contact', '--field', 'name=x', '--field', 'email=x, y@example.jp', '--field', 'message=m']);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toContain('HTTP 400');
      expect(bad.stdout).toContain('"email"');

      const list = runCli(['--config', config, 'submissions', 'list', '--json']);
      const subs = JSON.parse(list.stdout) as { id: string; form: string; outcome: string }[];
      expect(subs).toHaveLength(1);
      expect(subs[0]).toMatchObject({ form: 'contact', outcome: 'accept' });
      const mails = JSON.parse(runCli(['--config', config, 'mail', 'list', '--json']).stdout) as { id: string; kind: string; state: string }[];
      expect(mails.map((m) => `${m.kind}:${m.state}`).sort()).toEqual(['autoreply:sent', 'notify:sent']);
      const notify = mails.find((m) => m.kind === 'notify')!;
      const shown = runCli(['--config', config, 'mail', 'show', notify.id]);
      expect(shown.stdout).toContain('state:     sent');
      // Decoded by default (headers and text as a person reads them); --raw prints the source as it left.
      expect(shown.stdout).toContain('Subject:   [Contact] 佐藤 花子');
      expect(shown.stdout).toContain('見積もりをお願いします');
      expect(shown.stdout).not.toMatch(/^Message-ID: <m_/m);
      const raw = runCli(['--config', config, 'mail', 'show', '--raw', notify.id]);
      expect(raw.stdout).toMatch(/^Message-ID: <m_/m);
      expect(raw.stdout).toMatch(/^Subject: =\?UTF-8\?/im);
      const sub = runCli(['--config', config, 'submissions', 'show', subs[0]!.id, '--lang', 'en']);
      expect(sub.status).toBe(0);
      expect(sub.stdout).toContain('Message:\n    見積もりをお願いします');
      expect(sub.stdout).toContain('Why this verdict:');
      const csv = runCli(['--config', config, 'submissions', 'export', '--lang', 'ja']);
      expect(csv.stdout.startsWith('\uFEFF受付番号,受付日時,判定,スコア,お名前,メールアドレス,お問い合わせ内容,判定理由,id\r\n')).toBe(true);
      expect(csv.stdout).toContain(',佐藤 花子,hanako@example.jp,見積もりをお願いします,');
    } finally {
      await server.kill();
    }
  }, 120_000);

  it('SIGKILL while mail is queued: after restart the queue drains and nothing accepted is lost', async () => {
    const port = sink.port;
    await sink.stop();
    sink.received.length = 0;
    // Retries far enough apart that no mail runs out of attempts while ten visitors post on a loaded
    // machine (with the test config's [1s, 1s, 1s] the first mails could be dead before the kill).
    const queued = path.join(db.dir, 'queued.yaml');
    const yaml = readFileSync(config, 'utf8').replace('retry: [1s, 1s, 1s]', 'retry: [2s, 4s, 8s, 16s, 32s, 64s]');
    expect(yaml).toContain('retry: [2s, 4s, 8s, 16s, 32s, 64s]');
    writeFileSync(queued, yaml);
    const server = await startServer(['--config', queued]);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      // Five recipient domains, not ten: with the submit test's, eleven would exceed the form breaker's
      // recipientDomains limit (10 a window), and a monitor tick landing before delivery would cancel the
      // auto-replies (here, and in the next test on the same database).
      const res = await submitLikeAPerson(server.url, 'contact', { name: `visitor ${i}`, email: `v${i}@example${i % 5}.jp`, message: `message ${i}` });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    await server.kill('SIGKILL');
    // This test's mails (housekeeping may have queued an alert meanwhile, depending on how long the posts took).
    const listed = JSON.parse(runCli(['--config', config, 'mail', 'list', '--state', 'pending', '--json']).stdout) as { submission_id: string | null }[];
    const pending = listed.filter((m) => m.submission_id !== null && ids.includes(m.submission_id));
    expect(pending).toHaveLength(20);

    await sink.start(port);
    const again = await startServer(['--config', queued]);
    try {
      // The next retry (up to 32 s away) or a lease the kill left (30 s) comes first. Each visitor's
      // auto-reply and each notification (housekeeping may mail the owner an alert besides).
      const visitors = Array.from({ length: 10 }, (_, i) => `v${i}@example${i % 5}.jp`);
      await waitFor(() => visitors.every((v) => sink.to(v).length >= 1) && sink.toKind('owner@example.jp', 'notify').length >= 10, 'the queue to drain after restart', 120_000);
      for (const v of visitors) expect(sink.to(v)).toHaveLength(1);
      expect(sink.toKind('owner@example.jp', 'notify')).toHaveLength(10);
      const subs = JSON.parse(runCli(['--config', config, 'submissions', 'list', '--limit', '100', '--json']).stdout) as { id: string }[];
      for (const id of ids) expect(subs.map((s) => s.id)).toContain(id);
    } finally {
      await again.kill();
    }
  }, 240_000);

  it('SMTP 5xx: the mail is dead, listed by `mail list --state dead`, and `outbox retry` sends it again', async () => {
    sink.received.length = 0;
    sink.mode = 'permfail';
    const server = await startServer(['--config', config]);
    try {
      const r = await runCliAsync(['submit', '--url', server.url, '--form', 'contact', '--field', 'name=a', '--field', 'email=dead@example.jp', '--field', 'message=m']);
      expect(r.status).toBe(0);
      const id = (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { id: string }).id;
      // This submission's two mails: mail the tests before left queued in this database (an alert) dies too.
      // Polled with the asynchronous runner: a synchronous spawn would freeze this process, and with it the
      // SMTP sink the server is talking to (its attempts then time out instead of getting the 550).
      const dead = await waitFor(async () => {
        const rows = JSON.parse((await runCliAsync(['--config', config, 'mail', 'list', '--state', 'dead', '--json'])).stdout) as { id: string; to_addr: string; last_error: string; submission_id: string | null }[];
        const mine = rows.filter((m) => m.submission_id === id);
        return mine.length === 2 ? mine : null;
      }, 'two dead mails', 60_000, 300);
      expect(dead[0]!.last_error).toContain('550');
      sink.mode = 'accept';
      const reply = dead.find((m) => m.to_addr === 'dead@example.jp')!;
      const retry = runCli(['--config', config, 'outbox', 'retry', reply.id]);
      expect(retry.status).toBe(0);
      await waitFor(() => sink.to('dead@example.jp').length === 1, 'the retried mail');
      expect(runCli(['--config', config, 'outbox', 'retry', 'm_nope']).status).toBe(1);
    } finally {
      sink.mode = 'accept';
      await server.kill();
    }
  }, 120_000);
});

describe.skipIf(dbUnavailable())('owner commands: block, suppress, status, breaker, analyze', () => {
  let db: TestDatabase;
  let config: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    config = path.join(db.dir, 'formwarden.yaml');
    writeFileSync(config, testConfigYaml({ dbUrl: db.url }));
  });
  afterAll(async () => {
    await db.drop();
  });

  // The server reloads the list every 2 s; the deadlines below leave room for a loaded machine.
  it('block add applies to a running server without a restart; block remove lifts it', async () => {
    const server = await startServer(['--config', config]);
    try {
      const post = () => fetch(`${server.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.50' }, body: '{}' });
      expect((await post()).status).toBe(400);
      const add = runCli(['--config', config, 'block', 'add', '203.0.113.0/24', '--note', 'test flood', '--expires', '7d']);
      expect(add.status).toBe(0);
      expect(add.stdout).toContain('blocked 203.0.113.0/24');
      const refused = await waitFor(async () => {
        const r = await post();
        return r.status === 403 ? r : null;
      }, 'the block to apply', 30_000);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('E_IP_BLOCKED');
      const list = JSON.parse(runCli(['--config', config, 'block', 'list', '--json']).stdout) as { cidr: string; note: string; expiresAt: number }[];
      expect(list).toMatchObject([{ cidr: '203.0.113.0/24', note: 'test flood' }]);
      expect(list[0]!.expiresAt).toBeGreaterThan(Date.now() + 6 * 86_400_000);
      expect(runCli(['--config', config, 'block', 'add', 'not-an-ip']).status).toBe(2);
      expect(runCli(['--config', config, 'block', 'remove', '203.0.113.0/24']).status).toBe(0);
      await waitFor(async () => (await post()).status === 400, 'the block to be lifted', 30_000);
    } finally {
      await server.kill();
    }
  }, 120_000);

  it('a temporary ban after repeated rejects is listed by `block bans` and lifted by `block unban`', async () => {
    const banned = path.join(db.dir, 'bans.yaml');
    writeFileSync(banned, testConfigYaml({ dbUrl: db.url, defenses: `${TEST_DEFENSES}  ipLists: { ban: { maxFailures: 2, banSeconds: 600 } }\n` }));
    const server = await startServer(['--config', banned]);
    try {
      // A bot that fills the honeypot is rejected; the second reject bans its address.
      const bot = async () => {
        const prepared = await prepareForm(server.url, 'contact', { headers: { 'x-forwarded-for': '198.51.100.66' } });
        return postSubmission(server.url, 'contact', { name: 'b', email: 'b@example.net', message: 'm', ...prepared.fields, website: 'http://spam.example' }, { headers: { 'x-forwarded-for': '198.51.100.66' } });
      };
      expect((await bot()).status).toBe(201);
      expect((await bot()).status).toBe(201);
      const refused = await bot();
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('E_IP_BANNED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      const bans = JSON.parse(runCli(['--config', banned, 'block', 'bans', '--json']).stdout) as { key: string; level: number }[];
      expect(bans).toMatchObject([{ key: '198.51.100.66', level: 0 }]);
      expect(runCli(['--config', banned, 'block', 'unban', '198.51.100.66']).status).toBe(0);
      await waitFor(async () => (await bot()).status === 201, 'the ban to be lifted', 30_000);
      expect(runCli(['--config', banned, 'block', 'unban', '198.51.100.66']).status).toBe(1);
    } finally {
      await server.kill();
    }
  }, 120_000);

  it('suppress add, list and remove; status and breaker reset', async () => {
    expect(runCli(['--config', config, 'suppress', 'add', 'Someone@Example.org', '--note', 'asked by phone']).status).toBe(0);
    const listed = JSON.parse(runCli(['--config', config, 'suppress', 'list', '--json']).stdout) as { address: string; reason: string }[];
    expect(listed).toMatchObject([{ address: 'someone@example.org', reason: 'owner' }]);
    expect(runCli(['--config', config, 'suppress', 'add', 'a@b.jp, c@d.jp']).status).toBe(2);
    expect(runCli(['--config', config, 'suppress', 'remove', 'someone@example.org']).status).toBe(0);
    expect(runCli(['--config', config, 'suppress', 'remove', 'someone@example.org']).status).toBe(1);

    const status = runCli(['--config', config, 'status']);
    expect(status.stdout).toContain('Circuit breakers:\n  all closed');
    expect(runCli(['--config', config, 'breaker', 'reset', 'contact']).status).toBe(1);
  }, 120_000); // nine CLI processes

  it('serve refuses a form whose auto-reply could carry visitor text with no cap (exit 2)', async () => {
    const bad = path.join(db.dir, 'uncapped.yaml');
    writeFileSync(
      bad,
      testConfigYaml({ dbUrl: db.url }).replace(
        'autoreply: { enabled: true, to: email, delay: 0s, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}" }',
        'autoreply: { enabled: true, to: email, echo: sanitized, caps: null, subject: "Thank you", body: "You wrote: {{message}}" }',
      ),
    );
    const r = runCli(['--config', bad, 'serve']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('forms[contact].autoreply.caps turns every cap off while the auto-reply carries visitor text');
    const check = runCli(['--config', config, 'check-config']);
    expect(check.stdout).toContain('Mail sent to addresses typed into a form:');
    expect(check.stdout).toContain('forms[contact].autoreply -> visitor field email');
    expect(check.stdout).toContain('cap 1/address/24h');
  }, 120_000);

  it('analyze reads an mbox and writes the HTML report', async () => {
    const { sampleMbox } = await import('../src/bounces/analyze/sample-mbox.js');
    const mbox = path.join(db.dir, 'bounces.mbox');
    writeFileSync(mbox, sampleMbox());
    const html = path.join(db.dir, 'report.html');
    const r = runCli(['--config', config, 'analyze', mbox, '--json', '--html', html]);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { totals: { bounces: number } };
    expect(report.totals.bounces).toBeGreaterThan(0);
    expect(readFileSync(html, 'utf8')).toContain('<svg');
  }, 120_000);
});
