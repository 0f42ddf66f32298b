// Issue part 3 "Speed", cheap rejection: how fast Formwarden turns bots away, against the bare Fastify
// hello-world measured in the same run with rounds interleaved.
//   (a) a blocked address: the server blocks 127.0.0.0/8 (defenses.ipLists.block), so every POST from the
//       load generator is answered 403 E_IP_BLOCKED by the onRequest hook, before the body is read;
//   (b) a POST without `_token`: the body is parsed and validated, the pipeline runs up to the form-token
//       defense (final reject E_TOKEN_MISSING) and the 403 is sent before anything is written.
// Every answer must be a 403; the server's own counter says which refusal answered (blocked / no_token).
import { HELLO_WORLD } from './baseline.js';
import { CONTACT_PATH, URLENCODED, contactBodies } from './lib/forms.js';
import { interleavedRounds, type LoadSpec, type RoundResult } from './lib/load.js';
import { startServer, type ServerProcess } from './lib/server.js';
import { median, range, round } from './lib/stats.js';
import { goal, type BenchModule, type Row } from './lib/types.js';

const RATIO_GOAL = 0.7;

// (a) Every default, plus a block of the loopback range the load comes from.
const BLOCKED_DEFENSES = `ipLists: { block: ["127.0.0.0/8"] }`;

// (b) Every default except the two that would answer instead of the token check when all load comes from
// one address: the per-address attempt limit (30 per 10 min: 429 E_RATE_LIMIT) and the ban after 5
// rejected posts (then 403 E_IP_BANNED from the onRequest hook, i.e. case (a)). The rate limiter still
// runs (its rules are generous), so its cost is part of the figure.
const NO_TOKEN_DEFENSES = `
formToken: { missing: reject }
ipLists: { ban: false }
rateLimit:
  rules:
    - { scope: address, points: 1000000000, durationSeconds: 600 }
    - { scope: network, points: 1000000000, durationSeconds: 600 }
    - { scope: address, name: address-attempts, points: 1000000000, durationSeconds: 600, charge: attempt }
    - { scope: form, points: 1000000000, durationSeconds: 3600 }
    - { scope: global, points: 1000000000, durationSeconds: 3600 }
`;

const sumCodes = (rs: RoundResult[]) => {
  const out: Record<string, number> = {};
  for (const r of rs) for (const [c, n] of Object.entries(r.statusCounts)) out[c] = (out[c] ?? 0) + n;
  return out;
};
const fmtCodes = (codes: Record<string, number>) => Object.entries(codes).map(([c, n]) => `${c}×${n}`).join(' ') || '-';
const fmtStats = (st: Record<string, number>) =>
  Object.entries(st)
    .filter(([k]) => k.startsWith('outcome.'))
    .map(([k, n]) => `${k.slice('outcome.'.length)} ${n}`)
    .join(', ') || '-';

export const rejection: BenchModule = {
  id: 'rejection',
  title: 'Rejection speed (issue part 3)',
  async run(ctx) {
    const { settings: s } = ctx;
    const bodies = contactBodies(16);
    const helloSpec: LoadSpec = { label: 'hello-world', method: 'GET', path: '/', expectStatus: 200 };
    const blockedSpec: LoadSpec = { label: 'blocked address', method: 'POST', path: CONTACT_PATH, headers: URLENCODED, bodies, expectStatus: 403 };
    const noTokenSpec: LoadSpec = { label: 'missing token', method: 'POST', path: CONTACT_PATH, headers: URLENCODED, bodies, expectStatus: 403 };

    const servers: ServerProcess[] = [];
    try {
      const hello = await startServer('hello', 'hello.ts');
      servers.push(hello);
      const blocked = await startServer('formwarden-blocked', 'formwarden.ts', { env: { BENCH_DEFENSES: BLOCKED_DEFENSES } });
      servers.push(blocked);
      const noToken = await startServer('formwarden-no-token', 'formwarden.ts', { env: { BENCH_DEFENSES: NO_TOKEN_DEFENSES } });
      servers.push(noToken);

      const results = await interleavedRounds(
        [
          { server: hello, spec: helloSpec },
          { server: blocked, spec: blockedSpec },
          { server: noToken, spec: noTokenSpec },
        ],
        { ...s, log: ctx.log },
      );
      const h = results.rounds.get(helloSpec.label)!;
      const b = results.rounds.get(blockedSpec.label)!;
      const n = results.rounds.get(noTokenSpec.label)!;
      const blockedStats = await blocked.stats();
      const noTokenStats = await noToken.stats();

      const helloRate = median(h.map((r) => r.okPerSecond));
      const helloName = 'Hello-world GET, bare Fastify, same run as the rejections (req/s)';
      const paired = (rs: RoundResult[]) => rs.map((r, i) => r.okPerSecond / (h[i]?.okPerSecond ?? Number.NaN));
      const bRatios = paired(b);
      const nRatios = paired(n);
      const bRatio = median(bRatios);
      const nRatio = median(nRatios);
      const unexpected = (rs: RoundResult[]) => rs.reduce((a, r) => a + r.unexpected, 0);
      const bCodes = sumCodes([...b, ...(results.warmups.has(blockedSpec.label) ? [results.warmups.get(blockedSpec.label)!] : [])]);
      const nCodes = sumCodes([...n, ...(results.warmups.has(noTokenSpec.label) ? [results.warmups.get(noTokenSpec.label)!] : [])]);
      const non403 = (codes: Record<string, number>) => Object.entries(codes).filter(([c]) => c !== '403').reduce((a, [, k]) => a + k, 0);
      // The server's counter: every refusal must be the intended one, and nothing stored.
      const wrongPath = (st: Record<string, number>, want: string) =>
        Object.entries(st)
          .filter(([k]) => k.startsWith('outcome.') && k !== `outcome.${want}`)
          .reduce((a, [, k]) => a + k, 0) + (st.submissions ?? Number.NaN) + (st[`outcome.${want}`] === undefined ? Number.NaN : 0);
      const bWrong = wrongPath(blockedStats, 'blocked');
      const nWrong = wrongPath(noTokenStats, 'no_token');
      const globalHello = ctx.baselines.get(HELLO_WORLD);

      const rows: Row[] = [
        {
          name: helloName,
          value: helloRate,
          unit: 'req/s',
          ...(globalHello ? { baseline: { name: globalHello.name, value: globalHello.value }, ratio: helloRate / globalHello.value } : {}),
          note: 'baseline for the rejections (rounds interleaved with them)',
        },
        {
          name: 'Blocked address: POST answered 403 E_IP_BLOCKED (onRequest hook, body unread) (403/s)',
          value: median(b.map((r) => r.okPerSecond)),
          unit: 'req/s',
          baseline: { name: 'hello-world, same run', value: helloRate },
          ratio: bRatio,
          ...goal(bRatio, '>=', RATIO_GOAL, 'ratio'),
          note: 'ratio = median of per-round ratios (rounds paired)',
        },
        {
          name: 'Missing token: POST answered 403 E_TOKEN_MISSING (parse + validate + pipeline, nothing written) (403/s)',
          value: median(n.map((r) => r.okPerSecond)),
          unit: 'req/s',
          baseline: { name: 'hello-world, same run', value: helloRate },
          ratio: nRatio,
          ...goal(nRatio, '>=', RATIO_GOAL, 'ratio'),
          note: 'ratio = median of per-round ratios; ban off and rate limits generous (one client address)',
        },
        { name: 'Blocked address latency p99', value: median(b.map((r) => r.latencyMs.p99)), unit: 'ms', baseline: { name: 'hello-world p99', value: median(h.map((r) => r.latencyMs.p99)) } },
        { name: 'Missing token latency p99', value: median(n.map((r) => r.latencyMs.p99)), unit: 'ms', baseline: { name: 'hello-world p99', value: median(h.map((r) => r.latencyMs.p99)) } },
        {
          name: 'Rejections answered other than 403 (both cases, warm-up included, incl. socket errors)',
          value: non403(bCodes) + non403(nCodes) + [...b, ...n].reduce((a, r) => a + r.errors, 0),
          unit: 'count',
          ...goal(non403(bCodes) + non403(nCodes) + [...b, ...n].reduce((a, r) => a + r.errors, 0), '=', 0),
          note: `blocked: ${fmtCodes(bCodes)}; missing token: ${fmtCodes(nCodes)}`,
        },
        {
          name: 'Rejections refused by another path than intended, or stored',
          value: bWrong + nWrong,
          unit: 'count',
          ...goal(bWrong + nWrong, '=', 0),
          note: `server counters: blocked server ${fmtStats(blockedStats)}; no-token server ${fmtStats(noTokenStats)}; stored ${blockedStats.submissions ?? '?'} + ${noTokenStats.submissions ?? '?'}`,
        },
      ];

      const details = [
        `- Three servers in their own processes: bare Fastify hello-world (GET /), and two Formwarden instances (createInstance, SQLite, worker running). ` +
          `(a) defenses at their defaults plus \`ipLists.block: ["127.0.0.0/8"]\` (the load generator's address); ` +
          `(b) the strict token option \`formToken.missing: reject\` (the default since issue 12 stores a token-less post as NO_PROOF), and defenses at their defaults except \`ipLists.ban: false\` and the five default rate-limit rules with 10⁹ points.`,
        `- Both Formwarden cases POST the urlencoded contact body the intake bench sends (${bodies.length} in rotation), without \`_token\`.`,
        `- Why (b) changes two defaults: all load comes from 127.0.0.1, so with pure defaults the 31st post in 10 min is answered 429 E_RATE_LIMIT, ` +
          `and after 5 rejected posts the address is banned and every later post is answered 403 E_IP_BANNED by the onRequest hook, which is the path (a) measures.`,
        `- The rounds of the three servers are interleaved (order alternates); ratios are paired per round.`,
        '',
        '| Round | Hello-world 200/s | Blocked 403/s | Ratio | Missing token 403/s | Ratio | p99 ms (hello / blocked / no token) | Server CPU (hello / blocked / no token) |',
        '|---|---|---|---|---|---|---|---|',
        ...h.map(
          (r, i) =>
            `| ${i + 1} | ${round(r.okPerSecond)} | ${round(b[i]?.okPerSecond ?? Number.NaN)} | ${round(bRatios[i]!, 3)} | ${round(n[i]?.okPerSecond ?? Number.NaN)} | ${round(nRatios[i]!, 3)} | ` +
            `${r.latencyMs.p99} / ${b[i]?.latencyMs.p99} / ${n[i]?.latencyMs.p99} | ${round(r.serverCpuPct)}% / ${round(b[i]?.serverCpuPct ?? Number.NaN)}% / ${round(n[i]?.serverCpuPct ?? Number.NaN)}% |`,
        ),
        '',
        `- Range over rounds: hello-world ${range(h.map((r) => r.okPerSecond))}, blocked ${range(b.map((r) => r.okPerSecond))}, missing token ${range(n.map((r) => r.okPerSecond))} req/s.`,
        `- Status codes seen by autocannon (warm-up and rounds): hello-world ${fmtCodes(sumCodes(h))}; blocked ${fmtCodes(bCodes)}; missing token ${fmtCodes(nCodes)}. ` +
          `Unexpected responses/errors in the measured rounds: hello-world ${unexpected(h)}, blocked ${unexpected(b)}, missing token ${unexpected(n)}.`,
        `- The servers' own submission counters at the end: blocked server ${fmtStats(blockedStats)} (stored ${blockedStats.submissions ?? '?'}); ` +
          `no-token server ${fmtStats(noTokenStats)} (stored ${noTokenStats.submissions ?? '?'}). They include requests still in flight when autocannon stopped, which it does not count.`,
        ...(globalHello ? [`- The baseline module's hello-world (measured earlier in this run, alone): ${round(globalHello.value)} req/s.`] : []),
      ];
      return { rows, details };
    } finally {
      await Promise.all(servers.map((sv) => sv.stop()));
    }
  },
};
