// The attack and load simulator's command line: `node --import tsx bench/attack/cli.ts --help`.
import { parseArgs } from 'node:util';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { assertLoopback } from './http.js';
import { startOwnInstance, type OwnInstance } from './instance.js';
import { parseMix, PRESETS } from './mix.js';
import { formatTable, summarize } from './report.js';
import { runAttack, type StoredOutcome } from './runner.js';
import { DESCRIPTIONS, KINDS } from './scenarios.js';

const HELP = `Formwarden attack and load simulator (loopback only).

Usage:
  node --import tsx bench/attack/cli.ts [options]               start an own instance (dist/, run \`npm run build\` first) and flood it
  node --import tsx bench/attack/cli.ts --url http://127.0.0.1:8787 --smtp-port 2525 [options]
                                                                attack a running instance whose mail.transport is smtp://127.0.0.1:2525

Target:
  --url URL              a running instance (127.0.0.0/8, ::1 or localhost only). It must listen on 127.0.0.1
                         or 0.0.0.0 without server.trustProxy, so that the bots' source addresses are seen.
  --smtp-port N          with --url: the port of the simulator's SMTP sink (default 2525)
  --owner ADDR           with --url: an owner address (repeatable; default owner@example.jp); other recipients are third parties
  --budget N             with --url: the third-party mail budget to compare with (from the caps)
  --pid N                with --url: the server's pid, for peak RSS and CPU from /proc
  --instance-config FILE with --url: its configuration, to read stored verdicts with \`formwarden submissions list\`
  --db URL               own instance: database URL (default: SQLite in a temp dir), e.g. postgres://postgres@127.0.0.1:5432/fw_attack
  --autoreply-delay D    own instance: autoreply.delay (default 0s: auto-replies leave during the run; caps bound them)
  --defenses YAML        own instance: YAML under defenses: (default: every production default)

Load:
  --preset NAME          ${Object.entries(PRESETS).map(([k, p]) => `${k}: ${p.description}`).join('\n                         ')}
                         (default: mix)
  --mix SPEC             instead of a preset: kind=count[@rate][/concurrency][:addresses],...
                         count may be inf (needs --duration); rate per second, 0 or none = as fast as concurrency allows
  --duration S           stop starting attempts after S seconds
  --seed N               text seed (default 1)
  --bot-addresses N      size of the bot address pool (default 250: 127.0.0.2 ..)
  --bot-networks one|many  one: bots in 127.0.0.0/24 (default); many: each bot address in its own /24
  --per-address N        distributed / victims: posts per address at most (default 4, under the default 5 per 10 min)
  --oversize-kb N        oversize body size (default 256)
  --slow-seconds S       slow bodies: give up after S seconds (default 10)
  --drain-timeout S      wait at most S seconds for the outbox after the run (default 60)
  --json                 print the summary as JSON
  -h, --help

Scenarios:
${KINDS.map((k) => `  ${k.padEnd(12)} ${DESCRIPTIONS[k]}`).join('\n')}
`;

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      url: { type: 'string' },
      'smtp-port': { type: 'string' },
      owner: { type: 'string', multiple: true },
      budget: { type: 'string' },
      pid: { type: 'string' },
      'instance-config': { type: 'string' },
      db: { type: 'string' },
      'autoreply-delay': { type: 'string' },
      defenses: { type: 'string' },
      preset: { type: 'string' },
      mix: { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      'bot-addresses': { type: 'string' },
      'bot-networks': { type: 'string' },
      'per-address': { type: 'string' },
      'oversize-kb': { type: 'string' },
      'slow-seconds': { type: 'string' },
      'drain-timeout': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const num = (s: string | undefined, d: number): number => {
    if (s === undefined) return d;
    if (!Number.isFinite(Number(s))) throw new Error(`not a number: ${s}`);
    return Number(s);
  };
  const preset = PRESETS[v.preset ?? 'mix'];
  if (!preset) throw new Error(`--preset: no preset ${v.preset} (have ${Object.keys(PRESETS).join(', ')})`);
  const scenarios = v.mix ? parseMix(v.mix) : preset.scenarios;
  const durationSeconds = v.duration ? num(v.duration, 60) : v.mix ? undefined : preset.durationSeconds;
  if (scenarios.some((s) => !Number.isFinite(s.count)) && !durationSeconds) throw new Error('a count of inf needs --duration');
  const networks = v['bot-networks'] ?? 'one';
  if (networks !== 'one' && networks !== 'many') throw new Error('--bot-networks: one or many');
  const log = (m: string) => process.stderr.write(`${m}\n`);

  let own: OwnInstance | null = null;
  let sink: SmtpSink;
  let external: { url: string; owners: string[]; budget: number | null; pid?: number; stored?: () => Promise<Map<string, StoredOutcome>> } | null = null;
  if (v.url) {
    assertLoopback(v.url);
    sink = new SmtpSink();
    await sink.start(num(v['smtp-port'], 2525));
    const cfg = v['instance-config'];
    external = {
      url: v.url,
      owners: v.owner ?? ['owner@example.jp'],
      budget: v.budget ? num(v.budget, 0) : null,
      pid: v.pid ? num(v.pid, 0) : undefined,
      stored: cfg
        ? async () => {
            const { runCliAsync } = await import('../../test/support/process.js');
            const r = await runCliAsync(['--config', cfg, 'submissions', 'list', '--json', '--limit', '10000000']);
            const rows = JSON.parse(r.stdout) as { id: string; outcome: string; autoreply: string }[];
            return new Map(rows.map((x) => [x.id, { outcome: x.outcome, autoreply: x.autoreply }]));
          }
        : undefined,
    };
    log(`attacking ${v.url}; SMTP sink on 127.0.0.1:${sink.port}`);
  } else {
    log('starting an own instance (formwarden serve from dist/) ...');
    own = await startOwnInstance({ dbUrl: v.db, autoreplyDelay: v['autoreply-delay'], defenses: v.defenses });
    sink = own.sink;
    log(`instance ${own.url} (pid ${own.pid}, config ${own.configFile}); SMTP sink on 127.0.0.1:${sink.port}; budget ${own.budget}`);
  }
  const drainTimeoutMs = num(v['drain-timeout'], 60) * 1000;
  try {
    const result = await runAttack({
      url: own?.url ?? external!.url,
      scenarios,
      durationSeconds,
      seed: num(v.seed, 1),
      botAddresses: num(v['bot-addresses'], 250),
      botNetworks: networks,
      perAddressMax: num(v['per-address'], 4),
      oversizeKb: num(v['oversize-kb'], 256),
      slow: { bytes: 2000, everyMs: 250, maxSeconds: num(v['slow-seconds'], 10) },
      sink,
      owners: own?.owners ?? external!.owners,
      budget: own?.budget ?? external!.budget,
      serverPid: own?.pid ?? external!.pid,
      storedOutcomes: own ? () => own.storedOutcomes() : external!.stored,
      drain: own ? () => own.drain(drainTimeoutMs) : undefined,
      drainTimeoutMs,
      log,
    });
    const summary = summarize(result);
    process.stdout.write(v.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatTable(summary)}\n`);
    return 0;
  } finally {
    if (own) await own.stop();
    else await sink.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`attack: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
