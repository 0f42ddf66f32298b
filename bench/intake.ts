// Issue part 1 "Speed": accepted submissions per second on the full path (POST
// /api/forms/contact/submissions, urlencoded name/email/message: validation, SQLite write, outbox
// rows in one transaction, outbox worker running), against a bare Fastify route that only parses
// the same form, measured in the same run with rounds interleaved. Also latency and peak RSS.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { HELLO_WORLD } from './baseline.js';
import { CONTACT_PATH, URLENCODED, contactBodies } from './lib/forms.js';
import { interleavedRounds, type LoadSpec, type RoundResult } from './lib/load.js';
import { startServer, type ServerProcess } from './lib/server.js';
import { median, range, round, sleep } from './lib/stats.js';
import { goal, type BenchModule, type Row } from './lib/types.js';

const RATIO_GOAL = 0.35;
const RSS_GOAL_MB = 150;

/** The PostgreSQL server for the second figure (BENCH_PG, default the test suite's); none if it cannot be reached. */
const PG_ADMIN = process.env.BENCH_PG ?? process.env.FORMWARDEN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of its own for one run, dropped afterwards; null when PostgreSQL is not there. */
async function pgDatabase(): Promise<{ url: string; drop(): Promise<void> } | null> {
  const name = `fw_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch {
    return null;
  } finally {
    await admin.end().catch(() => {});
  }
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function waitForOutbox(server: ServerProcess, timeoutMs: number): Promise<{ ms: number; pending: number }> {
  const t0 = Date.now();
  for (;;) {
    const stats = await server.stats();
    const pending = stats.pending ?? 0;
    if (pending === 0 || Date.now() - t0 > timeoutMs) return { ms: Date.now() - t0, pending };
    await sleep(100);
  }
}

export const intake: BenchModule = {
  id: 'intake',
  title: 'Intake speed (issue part 1)',
  async run(ctx) {
    const { settings: s } = ctx;
    const bodies = contactBodies(16);
    const parseSpec: LoadSpec = { label: 'form-parse', method: 'POST', path: CONTACT_PATH, headers: URLENCODED, bodies, expectStatus: 201 };
    const fullSpec: LoadSpec = { label: 'formwarden', method: 'POST', path: CONTACT_PATH, headers: URLENCODED, bodies, expectStatus: 201 };
    const pgSpec: LoadSpec = { ...fullSpec, label: 'formwarden-pg' };

    const servers: ServerProcess[] = [];
    const pgDb = await pgDatabase();
    try {
      const parse = await startServer('form-parse', 'form-parse.ts');
      servers.push(parse);
      const full = await startServer('formwarden', 'formwarden.ts');
      servers.push(full);
      const idle = full.memory();
      const onPg = pgDb ? await startServer('formwarden-pg', 'formwarden.ts', { env: { BENCH_DATABASE_URL: pgDb.url } }) : null;
      if (onPg) servers.push(onPg);

      const drains: { ms: number; pending: number }[] = [];
      const results = await interleavedRounds(
        [
          { server: parse, spec: parseSpec },
          {
            server: full,
            spec: fullSpec,
            // The worker sends the round's mails after it; wait for it so the next round (of either
            // server) does not share the CPU with the drain.
            settle: async () => {
              drains.push(await waitForOutbox(full, 60_000));
            },
          },
          ...(onPg ? [{ server: onPg, spec: pgSpec, settle: async () => void (await waitForOutbox(onPg, 60_000)) }] : []),
        ],
        { ...s, log: ctx.log },
      );
      const p = results.rounds.get(parseSpec.label)!;
      const f = results.rounds.get(fullSpec.label)!;
      const endStats = await full.stats({ gc: true });
      const g = results.rounds.get(pgSpec.label) ?? [];
      const pgEnd = onPg ? await onPg.stats({ gc: true }) : null;
      const pgRatio = median(g.map((r, i) => r.okPerSecond / (p[i]?.okPerSecond ?? Number.NaN)));
      const pgStoredOther = pgEnd ? Object.entries(pgEnd).filter(([k]) => k.startsWith('action.') && k !== 'action.accept').reduce((a, [, n]) => a + n, 0) : 0;

      const parseRate = median(p.map((r) => r.okPerSecond));
      const fullRate = median(f.map((r) => r.okPerSecond));
      const pairedRatios = f.map((r, i) => r.okPerSecond / (p[i]?.okPerSecond ?? Number.NaN));
      const ratio = median(pairedRatios);
      const peakRss = Math.max(...f.map((r) => r.serverPeakRssMb));
      const parsePeakRss = Math.max(...p.map((r) => r.serverPeakRssMb));
      const lat = (rs: RoundResult[], k: 'p50' | 'p97_5' | 'p99') => median(rs.map((r) => r.latencyMs[k]));
      const unexpectedFull = f.reduce((a, r) => a + r.unexpected, 0);
      const unexpectedParse = p.reduce((a, r) => a + r.unexpected, 0);
      const accepted201 = [...f, ...(results.warmups.has(fullSpec.label) ? [results.warmups.get(fullSpec.label)!] : [])].reduce((a, r) => a + r.ok, 0);
      const hello = ctx.baselines.get(HELLO_WORLD);
      // A 201 is not enough: a silently rejected or quarantined submission is answered 201 too.
      const notAccepted = Object.entries(endStats)
        .filter(([k]) => k.startsWith('action.') && k !== 'action.accept')
        .reduce((a, [, n]) => a + n, 0) + (endStats.submissions === undefined ? Number.NaN : 0);
      const parseName = 'Bare form parse: Fastify + @fastify/formbody, same POST body (201/s)';

      const rows: Row[] = [
        {
          name: parseName,
          value: parseRate,
          unit: 'req/s',
          ...(hello ? { baseline: { name: hello.name, value: hello.value }, ratio: parseRate / hello.value } : {}),
          note: 'baseline for the full path',
        },
        {
          name: 'Accepted submissions/s, full path (validate + SQLite write + outbox, worker running)',
          value: fullRate,
          unit: 'req/s',
          baseline: { name: parseName, value: parseRate },
          ratio,
          ...goal(ratio, '>=', RATIO_GOAL, 'ratio'),
          note: 'ratio = median of per-round ratios (rounds paired)',
        },
        { name: 'Full path latency p50', value: lat(f, 'p50'), unit: 'ms', baseline: { name: 'bare form parse p50', value: lat(p, 'p50') } },
        { name: 'Full path latency p97.5', value: lat(f, 'p97_5'), unit: 'ms', baseline: { name: 'bare form parse p97.5', value: lat(p, 'p97_5') } },
        { name: 'Full path latency p99', value: lat(f, 'p99'), unit: 'ms', baseline: { name: 'bare form parse p99', value: lat(p, 'p99') } },
        {
          name: 'Full path server peak RSS (VmHWM)',
          value: peakRss,
          unit: 'MB',
          baseline: { name: 'bare form parse peak RSS', value: parsePeakRss },
          ...goal(peakRss, '<', RSS_GOAL_MB),
        },
        {
          name: 'Full path responses other than 201 (incl. socket errors/timeouts)',
          value: unexpectedFull,
          unit: 'count',
          ...goal(unexpectedFull, '=', 0),
          note: `${f.reduce((a, r) => a + r.ok, 0)} × 201 in the measured rounds`,
        },
        {
          name: 'Full path submissions stored with another action than "accept"',
          value: notAccepted,
          unit: 'count',
          ...goal(notAccepted, '=', 0),
          note: `${endStats['action.accept'] ?? 0} accepted; ${endStats.submissions ?? '?'} stored in all`,
        },
        ...(onPg
          ? [
              {
                name: 'Accepted submissions/s, full path on PostgreSQL (same, a database of its own on the local server)',
                value: median(g.map((r) => r.okPerSecond)),
                unit: 'req/s',
                baseline: { name: parseName, value: parseRate },
                ratio: pgRatio,
                note: `no goal; p99 ${lat(g, 'p99')} ms; peak RSS ${round(Math.max(...g.map((r) => r.serverPeakRssMb)), 1)} MB; answers other than 201: ${g.reduce((a, r) => a + r.unexpected, 0)}; stored other than accept: ${pgStoredOther}`,
              } satisfies Row,
            ]
          : []),
        {
          name: 'Bare form parse responses other than 201',
          value: unexpectedParse,
          unit: 'count',
          ...goal(unexpectedParse, '=', 0),
        },
      ];

      const fmtCodes = (r: RoundResult) => Object.entries(r.statusCounts).map(([c, n]) => `${c}×${n}`).join(' ') || '-';
      const details = [
        `- Body: \`application/x-www-form-urlencoded\` name/email/message plus the empty honeypot field \`website\` (as the hosted form sends it), ${bodies.length} distinct bodies in rotation (e.g. \`${bodies[0]!.slice(0, 60)}…\`).`,
        `- Rounds are interleaved (order alternates) and each Formwarden round is followed by a wait until its outbox is drained, so the worker's sending does not overlap the next round.`,
        '',
        '| Round | Bare parse 201/s | Full path 201/s | Ratio | Full p50 / p97.5 / p99 ms | Full server CPU | Full statuses | Outbox drain after round |',
        '|---|---|---|---|---|---|---|---|',
        ...f.map((r, i) => {
          const d = drains[i + (results.warmups.has(fullSpec.label) ? 1 : 0)];
          return (
            `| ${i + 1} | ${round(p[i]?.okPerSecond ?? Number.NaN)} | ${round(r.okPerSecond)} | ${round(pairedRatios[i]!, 3)} | ` +
            `${r.latencyMs.p50} / ${r.latencyMs.p97_5} / ${r.latencyMs.p99} | ${round(r.serverCpuPct)}% | ${fmtCodes(r)} | ` +
            `${d ? `${round(d.ms / 1000, 1)} s${d.pending ? ` (${d.pending} still pending)` : ''}` : '-'} |`
          );
        }),
        '',
        `- Range over rounds: bare parse ${range(p.map((r) => r.okPerSecond))} req/s, full path ${range(f.map((r) => r.okPerSecond))} req/s.`,
        `- Server CPU (median, % of one core): bare parse ${round(median(p.map((r) => r.serverCpuPct)))}%, full path ${round(median(f.map((r) => r.serverCpuPct)))}%.`,
        ...(hello ? [`- Full path vs hello-world: ${round(fullRate / hello.value, 3)} (hello-world ${round(hello.value)} req/s).`] : []),
        `- Integrity: ${accepted201} responses were 201 (warm-up included); the database holds ${endStats.submissions ?? '?'} submissions (by action: ${
            Object.entries(endStats)
              .filter(([k]) => k.startsWith('action.'))
              .map(([k, n]) => `${k.slice('action.'.length)} ${n}`)
              .join(', ') || '-'
          }); ` +
          `outbox at the end: ${
            Object.entries(endStats)
              .filter(([k]) => k.startsWith('outbox.'))
              .map(([k, n]) => `${n} ${k.slice('outbox.'.length)}`)
              .join(', ') || 'empty'
          }. (Up to ${s.connections} requests per round are still in flight when autocannon stops: the server stores them, autocannon does not count their answers.)`,
        `- Full path memory: RSS at start, before any request ${idle ? round(idle.rssMb) : '?'} MB; peak RSS after warm-up and each round ${[results.warmups.get(fullSpec.label), ...f].filter((r) => r).map((r) => round(r!.serverPeakRssMb)).join(' → ')} MB; ` +
          `at the end, after a full GC: RSS ${endStats.rssMb ?? '?'} MB, JS heap used ${endStats.heapUsedMb ?? '?'} MB of ${endStats.heapTotalMb ?? '?'} MB, external ${endStats.externalMb ?? '?'} MB.`,
      ];
      return { rows, details };
    } finally {
      await Promise.all(servers.map((sv) => sv.stop()));
      await pgDb?.drop().catch(() => {});
    }
  },
};
