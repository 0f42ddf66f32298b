// The cluster of docs/scale.md, proven: 3 `formwarden serve` processes (dist/) on one PostgreSQL and one
// Redis, HAProxy in front with the shipped deploy/haproxy/haproxy.cfg (only its ports and check interval
// replaced). The attack simulator posts through the balancer (solvers, distributed sources and victim lists,
// each from its own loopback address, which HAProxy passes on in X-Forwarded-For) while genuine visitors post
// in parallel, and the 3 processes are restarted one by one (SIGTERM, wait for exit 0, start again) during
// the run. Asserted: mail to third parties within the global and per-form caps exactly as for one process,
// no visitor text in it, every 201 stored with its mails and each mail delivered once (the at-least-once
// bound of a graceful restart is 0 duplicates), genuine visitors >= 99% accepted, and no 5xx at all reaching
// a client (the drain's 503 is read by HAProxy's health check, and a refused connection is retried).
import { randomUUID } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAttack, spec, summarize, type RunResult, type Summary } from '../bench/attack/index.js';
import { budgetOf, ownConfigYaml, OWNER } from '../bench/attack/instance.js';
import { parseConfigText } from '../src/config/load.js';
import { openDb, type Db } from '../src/store/db.js';
import { capPolicyFor } from '../src/submissions/accept.js';
import { createTestDatabase, dbUnavailable, dialect, type TestDatabase } from './support/db.js';
import { stablePort } from './support/ports.js';
import { projectRoot, runCliAsync, startServer, type ServerProcess } from './support/process.js';
import { SmtpSink } from './support/smtp-sink.js';
import { waitFor } from './support/wait.js';

const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => spawnSync(p, ['-v']).status === 0) ?? null;
const needHaproxy = process.env.CI === 'true' || !!HAPROXY;
if (!HAPROXY && !needHaproxy) console.warn('cluster test skipped: HAProxy is not installed (apt-get install haproxy)');

/** As test/attack.db.test.ts: a small proof-of-work, a raised fill time, the naive bot rejected at the door. */
const DEFENSES = `
altcha: { cost: 10, minNumber: 5, maxNumber: 40 }
formToken: { minFillSeconds: 6, missing: reject }
`;
const CLEAN_ENV = Object.fromEntries(['FORMWARDEN_CONFIG', 'FORMWARDEN_TOKEN_KEY', 'FORMWARDEN_LINK_KEY', 'FORMWARDEN_DATABASE_URL', 'FORMWARDEN_MAIL_TRANSPORT', 'FORMWARDEN_REDIS_URL', 'FORMWARDEN_PORT'].map((k) => [k, '']));

/** The shipped HAProxy file with only the listen port, the servers' ports and the check interval replaced. */
function haproxyConfig(listen: number, servers: number[], inter = '250ms'): string {
  let text = readFileSync(path.join(projectRoot, 'deploy/haproxy/haproxy.cfg'), 'utf8');
  const swap = (from: string | RegExp, to: string) => {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`deploy/haproxy/haproxy.cfg no longer contains ${String(from)}: update this test's template`);
    text = next;
  };
  swap('bind 127.0.0.1:8080', `bind 127.0.0.1:${listen}`);
  swap('check inter 1s', `check inter ${inter}`);
  servers.forEach((port, i) => swap(`127.0.0.1:${8787 + i}`, `127.0.0.1:${port}`));
  return text;
}

describe.skipIf(dialect !== 'postgres' || dbUnavailable() || !needHaproxy)('3 processes behind HAProxy on PostgreSQL + Redis, restarted one by one under attack', () => {
  let db: TestDatabase;
  let dir: string;
  let sink: SmtpSink;
  let haproxy: ChildProcess | null = null;
  let haproxyLog = '';
  let configFile: string;
  let yaml: string;
  let k: Db;
  const ports: number[] = [];
  const servers: (ServerProcess | null)[] = [null, null, null];
  const restarts: { server: number; exitCode: number | null }[] = [];
  let result: RunResult;
  let s: Summary;
  let budget: number;

  const cli = async (args: string[]) => {
    const r = await runCliAsync(['--config', configFile, ...args], { cwd: dir, env: CLEAN_ENV });
    if (r.status !== 0) throw new Error(`formwarden ${args.join(' ')}: exit ${r.status}: ${r.stderr.slice(0, 500)}`);
    return r.stdout;
  };

  beforeAll(async () => {
    if (!HAPROXY) throw new Error('HAProxy is missing: apt-get install haproxy (.ci/run installs it)');
    db = await createTestDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'fw-cluster-'));
    sink = new SmtpSink();
    await sink.start();
    for (let i = 0; i < 4; i++) ports.push(await stablePort());
    const [lb, ...own] = ports as [number, number, number, number];
    // Each process reads its own copy of the configuration, identical but for server.port.
    yaml = ownConfigYaml({ dbUrl: db.url, smtpPort: sink.port, autoreplyDelay: '0s', defenses: DEFENSES, loadShedding: false, extra: `redis: { url: "redis://127.0.0.1:6379", keyPrefix: "fwtest:cluster:${randomUUID()}:" }` }).replace(
      'logLevel: error',
      'logLevel: error, trustProxy: [127.0.0.1], drainGrace: 2s',
    );
    expect(yaml).toContain('drainGrace: 2s');
    budget = budgetOf(yaml)!;
    configFile = path.join(dir, 'formwarden.yaml');
    const files = own.map((port, i) => {
      const f = path.join(dir, `formwarden-${i + 1}.yaml`);
      writeFileSync(f, yaml.replace('port: 0', `port: ${port}`));
      return f;
    });
    writeFileSync(configFile, yaml); // for the CLI (same database)
    const startOne = (i: number) => startServer(['--config', files[i]!], { cwd: dir, env: { ...CLEAN_ENV, NODE_ENV: 'production' } }).then((p) => (servers[i] = p));
    await Promise.all([0, 1, 2].map(startOne));

    const cfg = path.join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(lb, own));
    haproxy = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout!.on('data', (d) => (haproxyLog += d));
    haproxy.stderr!.on('data', (d) => (haproxyLog += d));
    const url = `http://127.0.0.1:${lb}`;
    await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => null))?.status === 200, `HAProxy to answer: ${haproxyLog}`);
    k = openDb(db.url, db.dir);

    // The rolling restart, while the attack runs: each process in turn gets SIGTERM, exits, starts again.
    let attackDone = false;
    const roll = (async () => {
      await new Promise((r) => setTimeout(r, 4000));
      for (let i = 0; i < 3 && !attackDone; i++) {
        const p = servers[i]!;
        const exited = new Promise<number | null>((resolve) => p.child.once('exit', (code) => resolve(code)));
        p.child.kill('SIGTERM');
        restarts.push({ server: i, exitCode: await exited });
        await startOne(i);
        // Back in HAProxy's rotation (rise 2) before the next one goes.
        await new Promise((r) => setTimeout(r, 1500));
      }
    })();
    try {
      result = await runAttack({
        url,
        seed: 14,
        scenarios: [
          spec('naive', 30, 30),
          spec('replay', 10),
          spec('solver', 8),
          spec('distributed', 48, 0, 24, 20),
          spec('victims', 40, 0, 20, 10),
          spec('inject', 12, 0, 4, 12),
          // Within the per-form rate limit (200 posts an hour, shared through Redis) with the bots' posts.
          spec('genuine', 60, 10),
        ],
        botNetworks: 'many',
        thinkMs: 300,
        timeoutMs: 120_000,
        sink,
        owners: [OWNER],
        budget,
        storedOutcomes: async () => {
          const rows = JSON.parse(await cli(['submissions', 'list', '--json', '--limit', '10000000'])) as { id: string; outcome: string; autoreply: string }[];
          return new Map(rows.map((r) => [r.id, { outcome: r.outcome, autoreply: r.autoreply }]));
        },
        drain: async () => {
          await roll;
          await waitFor(
            async () => {
              const due = await k.kysely.selectFrom('outbox').select('id').where('state', '=', 'pending').where('kind', '<>', 'digest').where('next_attempt_at', '<=', Date.now() + 5000).execute();
              return due.length === 0;
            },
            'the outbox to drain',
            90_000,
            250,
          );
        },
        drainTimeoutMs: 90_000,
      });
    } finally {
      attackDone = true;
      await roll;
    }
    s = summarize(result);
    const owners = new Set([OWNER]);
    const strangers = result.mails.filter((m) => m.envelopeTo.some((to) => !owners.has(to.toLowerCase())));
    console.log(`cluster: third-party mails ${strangers.length}: ${JSON.stringify(strangers.map((m) => [m.parsed.messageId, m.envelopeTo.join(' ')]))}`);
    const notable = haproxyLog.split('\n').filter((l) => /is (DOWN|UP)|NOSRV|<NOSRV>| 50[234] /.test(l));
    console.log(`haproxy: ${notable.length} notable lines:\n${notable.slice(0, 40).join('\n')}`);
    console.log(`cluster: ${JSON.stringify(s.scenarios.map((x) => [x.kind, x.answers]))}; genuine ${s.genuine.accepted}/${s.genuine.visitors}; stored ${JSON.stringify([...(result.stored?.values() ?? [])].reduce<Record<string, number>>((m, o) => ({ ...m, [o.outcome]: (m[o.outcome] ?? 0) + 1 }), {}))}`);
  }, 400_000);

  afterAll(async () => {
    await Promise.all(servers.map((p) => p?.kill()));
    if (haproxy && haproxy.exitCode === null) {
      const done = new Promise((r) => haproxy!.once('exit', r));
      haproxy.kill('SIGTERM');
      await done;
    }
    await k?.close();
    await sink?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const scenario = (kind: string) => s.scenarios.find((x) => x.kind === kind)!;

  it('every process was restarted during the run and drained to exit 0', () => {
    expect(restarts).toEqual([0, 1, 2].map((server) => ({ server, exitCode: 0 })));
    for (const p of servers) expect(p!.output()).not.toMatch(/uncaught|unhandled/i);
  });

  it('third parties got no more mail than the global and per-form caps allow one process, none at injected addresses, with no visitor text', async () => {
    const throughChecks = scenario('distributed').delivered + scenario('victims').delivered + scenario('solver').delivered;
    expect(throughChecks).toBeGreaterThan(budget); // the bots really pressed on the caps
    expect(s.mails.thirdPartyRecipients).toBeLessThanOrEqual(budget);
    expect(s.mails.injectedRecipients).toBe(0);
    expect(s.mails.visitorTextHits).toBe(0);
    // Per form, from the outbox: what left for a third party against that form's own caps.
    const config = parseConfigText(yaml, 'cluster');
    const sent = await k.kysely.selectFrom('outbox').select(['form_id', k.kysely.fn.countAll<number>().as('n')]).where('kind', '=', 'autoreply').where('state', '=', 'sent').groupBy('form_id').execute();
    for (const row of sent) {
      const form = config.forms.find((f) => f.id === row.form_id)!;
      const p = capPolicyFor(config, form);
      const caps = [p.perFormHour, p.perFormDay, p.global.perHour, p.global.perDay].filter((n): n is number => typeof n === 'number');
      expect(Number(row.n)).toBeLessThanOrEqual(Math.min(...caps));
    }
  });

  it('every 201 is stored with its mails, and every mail that left was delivered once (no duplicate Message-ID)', async () => {
    const accepted = result.attempts.filter((a) => a.status === '201' && a.id).map((a) => a.id!);
    expect(accepted.length).toBeGreaterThan(80);
    const stored = new Set((await k.kysely.selectFrom('submissions').select('id').execute()).map((r) => r.id));
    const missing = accepted.filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    // Accepted inquiries each have an owner notification that was sent, or are in a digest (mail.digest: many
    // notifications an hour are batched; a digest waits for its period).
    const notified = await k.kysely.selectFrom('outbox').select(['submission_id', 'state', 'message_id']).where('kind', '=', 'notify').execute();
    const delivered = await k.kysely.selectFrom('submissions').select(['id', 'notify']).where('action', 'in', ['accept', 'accept_no_autoreply']).execute();
    expect(delivered.length).toBeGreaterThan(0);
    const withNotify = new Set(notified.map((m) => m.submission_id));
    expect(delivered.filter((r) => (r.notify === 'queued' ? !withNotify.has(r.id) : !['digest', 'digested'].includes(r.notify))).map((r) => [r.id, r.notify])).toEqual([]);
    expect(notified.filter((m) => m.state !== 'sent')).toEqual([]);
    const leased = await k.kysely.selectFrom('outbox').select('id').where('state', '=', 'pending').where('locked_by', 'is not', null).where('kind', '<>', 'digest').execute();
    expect(leased).toEqual([]);
    // At least once, and with graceful restarts exactly once: no Message-ID reached the sink twice.
    const ids = result.mails.map((m) => m.parsed.messageId ?? '');
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const duplicates = [...counts.values()].reduce((n, c) => n + (c - 1), 0);
    console.log(`cluster: ${result.attempts.length} posts, ${accepted.length} answered 201, ${result.mails.length} mails, ${duplicates} duplicate(s), restarts ${JSON.stringify(restarts)}`);
    expect(duplicates).toBe(0);
    expect(ids.every((id) => id.length > 0)).toBe(true);
    // Every mail in the sink is one the outbox marked sent.
    const sentIds = new Set((await k.kysely.selectFrom('outbox').select('message_id').where('state', '=', 'sent').execute()).map((r) => r.message_id));
    expect(ids.filter((id) => !sentIds.has(id))).toEqual([]);
  });

  it('genuine visitors >= 99% accepted, and not one 5xx reached a client (HAProxy took draining processes out and retried refused connections)', () => {
    expect(s.genuine.visitors).toBe(60);
    expect(s.genuine.judgedBy).toBe('stored');
    expect(s.genuine.acceptedPct).toBeGreaterThanOrEqual(99);
    const fiveXx = result.attempts.filter((a) => a.status.startsWith('5') || a.status.startsWith('error:'));
    expect(fiveXx).toEqual([]);
    expect(s.fiveXx).toBe(0);
    expect(scenario('naive').answers).toEqual({ '403 E_TOKEN_MISSING': 30 });
  });
});

it('docs/scale.md and docs/scale.ja.md hold deploy/haproxy/haproxy.cfg verbatim', () => {
  const cfg = readFileSync(path.join(projectRoot, 'deploy/haproxy/haproxy.cfg'), 'utf8').trimEnd();
  for (const doc of ['docs/scale.md', 'docs/scale.ja.md']) {
    const text = readFileSync(path.join(projectRoot, doc), 'utf8');
    const block = /```haproxy\n([\s\S]*?)\n```/.exec(text)?.[1];
    expect(block, doc).toBe(cfg);
  }
});
