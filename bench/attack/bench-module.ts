// `npm run bench -- --only attack`: a one-minute flood (issue part 5) against a `formwarden serve`
// process built from dist/: full solvers and naive bots from 250 addresses as fast as the simulator
// drives them, genuine visitors in parallel. `--attack-seconds S` shortens it.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../lib/paths.js';
import { goal, type BenchModule, type Row } from '../lib/types.js';
import { startOwnInstance } from './instance.js';
import { PRESETS } from './mix.js';
import { formatTable, summarize } from './report.js';
import { runAttack } from './runner.js';

function attackSeconds(quick: boolean): number {
  const argv = process.argv;
  const i = argv.indexOf('--attack-seconds');
  const v = i >= 0 ? Number(argv[i + 1]) : Number(argv.find((a) => a.startsWith('--attack-seconds='))?.split('=')[1]);
  return Number.isFinite(v) && v > 0 ? v : quick ? 15 : 60;
}

export const attackBench: BenchModule = {
  id: 'attack',
  title: 'Attack flood (issue part 5)',
  async run(ctx) {
    const seconds = attackSeconds(ctx.settings.quick);
    ctx.log('  building dist/ (the flood runs `formwarden serve` as an owner would)');
    execFileSync(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: projectRoot, stdio: 'inherit' });
    const own = await startOwnInstance();
    ctx.log(`  instance ${own.url} (pid ${own.pid}), flood for ${seconds} s`);
    const preset = PRESETS.flood!;
    try {
      const result = await runAttack({
        url: own.url,
        scenarios: preset.scenarios,
        durationSeconds: seconds,
        sink: own.sink,
        owners: own.owners,
        budget: own.budget,
        serverPid: own.pid,
        storedOutcomes: () => own.storedOutcomes(),
        drain: () => own.drain(60_000),
        log: ctx.log,
      });
      const s = summarize(result);
      const table = formatTable(s);
      ctx.log(table);
      const perSecond = (kind: string) => (s.scenarios.find((x) => x.kind === kind)?.attempts ?? 0) / s.seconds;
      const rows: Row[] = [
        { name: 'Flood: attempts per second driven (all scenarios)', value: s.attempts / s.seconds, unit: 'req/s', note: `full solvers ${perSecond('distributed').toFixed(1)}/s, naive ${perSecond('naive').toFixed(1)}/s, genuine ${perSecond('genuine').toFixed(1)}/s` },
        { name: 'Flood: genuine visitors accepted', value: s.genuine.acceptedPct, unit: '%', ...goal(s.genuine.acceptedPct, '>=', 99), note: `${s.genuine.accepted}/${s.genuine.visitors}, judged by stored verdict` },
        {
          name: 'Flood: genuine inquiries found in the owner\'s mail by the end of the run',
          value: s.genuine.visitors ? (s.genuine.inOwnerMail / s.genuine.visitors) * 100 : Number.NaN,
          unit: '%',
          note: `${s.genuine.inOwnerMail}/${s.genuine.visitors}; past mail.digest.threshold the rest wait for the next digest (mail.digest.every)`,
        },
        { name: 'Flood: genuine visitor POST latency p95', value: s.genuine.postP95Ms, unit: 'ms', ...goal(s.genuine.postP95Ms, '<', 500), note: `p50 ${s.genuine.postP50Ms.toFixed(0)} ms, measured in the load generator` },
        { name: 'Flood: 5xx answers', value: s.fiveXx, unit: 'count', ...goal(s.fiveXx, '=', 0), note: `socket errors/timeouts: ${s.clientErrors}` },
        { name: 'Flood: server peak RSS (VmHWM)', value: s.server?.peakRssMb ?? Number.NaN, unit: 'MB', ...goal(s.server?.peakRssMb, '<', 250), note: `CPU ${s.server?.cpuPct.toFixed(0)}% of one core` },
        {
          name: 'Flood: mails to third parties',
          value: s.mails.thirdPartyRecipients,
          unit: 'count',
          ...goal(s.mails.thirdPartyRecipients, '<=', s.mails.budget ?? 0, 'budget'),
          note: `budget = smallest cap for one hour (form ${s.mails.budget}); owner got ${s.mails.owner}`,
        },
        { name: 'Flood: visitor text in third-party mails', value: s.mails.visitorTextHits, unit: 'count', ...goal(s.mails.visitorTextHits, '=', 0) },
      ];
      const details = [
        `- \`formwarden serve\` from dist/ in its own process, generated configuration: SQLite in a temp dir, every defense at its default, SMTP transport to the simulator's sink, ` +
          '`autoreply.delay: 0s` (so auto-replies leave during the run and the caps, not the delay, bound them), owner owner@example.jp.',
        `- ${seconds} s of load from bench/attack (preset \`flood\`): full solvers (token, PBKDF2 proof-of-work at the default cost, minimum fill time, empty honeypot) over 150 addresses ` +
          'in 127.0.0.0/24, at most 4 posts each, 12 at a time (the proof-of-work bounds their rate); naive bots (no token) over 100 other addresses, 32 at a time; one genuine visitor a second ' +
          '(own address in its own /24, Japanese inquiry, full protocol). Same command: `node --import tsx bench/attack/cli.ts --preset flood`.',
        '- Genuine acceptance is the stored verdict (accept or accept_no_autoreply: the owner gets the inquiry); latency is the POST as the load generator saw it (its own event loop included).',
        '',
        '```text',
        table,
        '```',
      ];
      return { rows, details };
    } finally {
      await own.stop();
    }
  },
};
