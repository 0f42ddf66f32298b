// The simulator's own instance: a `formwarden serve` child process from dist/ with a generated
// configuration (database in a temp dir unless given, SMTP transport to the simulator's own sink,
// the owner address, auto-reply on), plus reading its stored verdicts and outbox with the CLI.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { capPolicyFor } from '../../src/submissions/accept.js';
import { runCliAsync, startServer, type ServerProcess } from '../../test/support/process.js';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { CONTACT_FORMS_YAML } from '../lib/forms.js';
import type { StoredOutcome } from './runner.js';

/** The owner in the generated configuration (the contact form of bench/lib/forms.ts). */
export const OWNER = 'owner@example.jp';

export interface OwnInstanceOptions {
  /** Database URL (sqlite:... or postgres://...); default a SQLite file in a temp dir. */
  dbUrl?: string;
  /** autoreply.delay; default 0s so auto-replies leave during the run (the caps bound them, not the delay). */
  autoreplyDelay?: string;
  /** YAML for the `defenses:` key (indented under it); default: every production default. */
  defenses?: string;
  /** More top-level YAML (e.g. monitor:). */
  extra?: string;
  /** server.loadShedding on (the default, as in production) or off (a deterministic test run). */
  loadShedding?: boolean;
  sink?: SmtpSink;
}

export interface OwnInstance {
  url: string;
  pid: number;
  configFile: string;
  configYaml: string;
  owners: string[];
  /** Third-party mails the caps allow in the first hour (min of form and instance caps). */
  budget: number | null;
  sink: SmtpSink;
  server: ServerProcess;
  storedOutcomes(): Promise<Map<string, StoredOutcome>>;
  /** Waits (bounded) until no due mail is pending in the outbox. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function ownConfigYaml(o: { dbUrl: string; smtpPort: number; autoreplyDelay: string; defenses?: string; extra?: string; loadShedding?: boolean }): string {
  const key = () => randomBytes(32).toString('hex');
  return `
siteName: Example Shop
server: { host: 127.0.0.1, port: 0, publicUrl: "http://127.0.0.1:8787", logLevel: error${o.loadShedding === false ? ', loadShedding: { enabled: false }' : ''} }
database: { url: "${o.dbUrl}" }
mail:
  from: "Example Shop <info@example.jp>"
  transport: "smtp://127.0.0.1:${o.smtpPort}"
  retry: [1s, 5s, 30s]
  timeouts: { connect: 5s, greeting: 5s, socket: 10s }
secrets: { tokenKey: "${key()}", linkKey: "${key()}" }
${o.defenses ? `defenses:\n${o.defenses.replace(/^/gm, '  ')}` : ''}
${o.extra ?? ''}
${CONTACT_FORMS_YAML.replace('autoreply: { enabled: true, to: email,', `autoreply: { enabled: true, to: email, delay: ${o.autoreplyDelay},`)}
`;
}

/** Third-party mails the configuration allows within one hour: the smallest cap per form, summed. */
export function budgetOf(yaml: string): number | null {
  const config = parseConfigText(yaml, 'attack');
  let total = 0;
  for (const form of config.forms) {
    if (!form.autoreply?.enabled) continue;
    const p = capPolicyFor(config, form);
    const caps = [p.perFormHour, p.perFormDay, p.global.perHour, p.global.perDay].filter((n): n is number => typeof n === 'number');
    if (caps.length === 0) return null;
    total += Math.min(...caps);
  }
  return Math.min(total, config.mail.autoreplyBudget.perHour, config.mail.autoreplyBudget.perDay);
}

// The server must read the generated file, not FORMWARDEN_* variables of the caller's shell.
const CLEAN_ENV = Object.fromEntries(['FORMWARDEN_CONFIG', 'FORMWARDEN_TOKEN_KEY', 'FORMWARDEN_LINK_KEY', 'FORMWARDEN_DATABASE_URL', 'FORMWARDEN_MAIL_TRANSPORT', 'FORMWARDEN_REDIS_URL', 'FORMWARDEN_PORT'].map((k) => [k, '']));

export async function startOwnInstance(opts: OwnInstanceOptions = {}): Promise<OwnInstance> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-attack-'));
  const ownSink = !opts.sink;
  const sink = opts.sink ?? new SmtpSink();
  if (ownSink) await sink.start();
  const configYaml = ownConfigYaml({
    dbUrl: opts.dbUrl ?? `sqlite:${path.join(dir, 'attack.db')}`,
    smtpPort: sink.port,
    autoreplyDelay: opts.autoreplyDelay ?? '0s',
    defenses: opts.defenses,
    extra: opts.extra,
    loadShedding: opts.loadShedding,
  });
  const configFile = path.join(dir, 'formwarden.yaml');
  writeFileSync(configFile, configYaml);
  const budget = budgetOf(configYaml);
  let server: ServerProcess;
  try {
    server = await startServer(['--config', configFile], { cwd: dir, env: { ...CLEAN_ENV, NODE_ENV: 'production' } });
  } catch (e) {
    if (ownSink) await sink.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const cli = async (args: string[]) => {
    const r = await runCliAsync(['--config', configFile, ...args], { cwd: dir, env: CLEAN_ENV });
    if (r.status !== 0) throw new Error(`formwarden ${args.join(' ')}: exit ${r.status}: ${r.stderr.slice(0, 500)}`);
    return r.stdout;
  };
  return {
    url: server.url,
    pid: server.child.pid!,
    configFile,
    configYaml,
    owners: [OWNER],
    budget,
    sink,
    server,
    async storedOutcomes() {
      const rows = JSON.parse(await cli(['submissions', 'list', '--json', '--limit', '10000000'])) as { id: string; outcome: string; autoreply: string }[];
      return new Map(rows.map((r) => [r.id, { outcome: r.outcome, autoreply: r.autoreply }]));
    },
    async drain(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const rows = JSON.parse(await cli(['mail', 'list', '--state', 'pending', '--json', '--limit', '100000'])) as { kind: string; next_attempt_at: string }[];
        // Digests wait for their period; other mail due within the next seconds is what we wait for.
        const due = rows.filter((r) => r.kind !== 'digest' && (!r.next_attempt_at || Date.parse(r.next_attempt_at) <= Date.now() + 5000));
        if (due.length === 0) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    async stop() {
      await server.kill('SIGTERM');
      if (ownSink) await sink.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
