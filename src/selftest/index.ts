// `formwarden selftest`: the owner's audit of their own configuration. It boots an in-process copy
// of the instance on that configuration (a temporary SQLite file, mail captured, a simulated clock) and
// runs two attackers for a simulated day, reporting per form and for the whole instance what reached
// strangers. No mail leaves the machine and the owner's database is not touched.
// - The greedy bot passes every bot check and posts a stranger-list attack as fast as asked (--posts).
// - The patient bot (drip.ts) knows every cap, trip rule, rate limit and the cap watch, and paces its
//   posts to stay just under each: its take is the true worst case, with and without the owner alerted.
// Every simulated post carries values that pass the form's validation (fields.ts); when posts cannot be
// accepted, the form fails and the report says why, instead of passing on a measurement of nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lintConfig, loadConfig } from '../config/load.js';
import type { Config, FormConfig } from '../config/schema.js';
import { createInstance, type Instance } from '../main.js';
import { captureTransport } from '../mail/transport.js';
import { capPolicyFor } from '../submissions/accept.js';
import { ManualClock } from '../util/clock.js';
import { simulateDrip, type DripMode, type DripOutcome } from './drip.js';
import { fieldMaker, MARK, SPAM_HOST, type FieldMaker } from './fields.js';

/** The patient bot's take in one simulated day: at most (caps may be used up), and without any alert. */
export interface DripVerdict {
  /** Stranger mails a day when only the breaker is avoided (the caps may be used up). */
  worstPerDay: number;
  /** Whether the owner was alerted while it took that much. */
  worstAlerted: boolean;
  /** Stranger mails a day when the owner must not be alerted either. */
  silentPerDay: number;
  /** Whether that quieter bot was noticed all the same (a rule it did not know). */
  silentAlerted: boolean;
  /** Breaker trips (the plan avoids them; any here is reported). */
  trips: string[];
}

export interface FormVerdict {
  form: string;
  posts: number;
  strangerMails: number;
  maxPerHour: number;
  visitorTextReachedStrangers: boolean;
  ownerMails: number;
  statedBudget: { perHour: number | null; perDay: number | null };
  lint: string[];
  pass: boolean;
  advice: string[];
  /** Simulated posts the form did not accept as planned, with why (a non-empty list fails the form). */
  problems: string[];
  /** How the simulated posts were filled in where the form asked for something special. */
  notes: string[];
  drip: DripVerdict | null;
}

export interface InstanceVerdict {
  forms: string[];
  budget: { perHour: number; perDay: number };
  drip: DripVerdict;
  problems: string[];
}

export interface SelftestReport {
  forms: FormVerdict[];
  /** The patient bot spread over every form with an auto-reply (null with fewer than two). */
  instance: InstanceVerdict | null;
}

const START = Date.UTC(2026, 0, 5, 0, 0, 0);
const stranger = (i: number) => `victim${i}@victim-${i % 50}.example`;

/** The owner's configuration as the simulation runs it: the bot passes every bot check, nothing leaves. */
function simulatedConfig(config: Config, file: string): Config {
  return {
    ...config,
    database: { url: `sqlite:${file}` },
    mail: { ...config.mail, transport: 'capture' },
    redis: undefined,
    server: { ...config.server, port: 0, logLevel: 'silent', trustProxy: ['127.0.0.1'], loadShedding: { ...config.server.loadShedding, enabled: false } },
    // Alerts are counted in the private copy's database; no webhook is called.
    alerts: { ...config.alerts, webhook: undefined },
    // Nor any form's webhook (their URLs and secrets may live only in the server's environment).
    forms: config.forms.map((f) => ({ ...f, webhooks: [] })),
    defenses: {
      ...config.defenses,
      formToken: { ...config.defenses.formToken, minFillSeconds: 0, maxAgeMinutes: 10_000_000 },
      altcha: { ...config.defenses.altcha, enabled: false },
      captchaImage: { ...config.defenses.captchaImage, enabled: false },
      captcha: undefined,
      akismet: undefined,
      // The bots use a fresh address for every post; the patient one keeps under the per-form and global
      // rate limits by its own plan.
      rateLimit: { ...config.defenses.rateLimit, enabled: false },
      content: { ...config.defenses.content, enabled: false },
      geo: { ...config.defenses.geo, enabled: false },
      ipLists: { allow: [], block: [], ban: false },
    },
  };
}

async function withInstance<T>(config: Config, dir: string, name: string, run: (instance: Instance, clock: ManualClock) => Promise<T>): Promise<T> {
  const clock = new ManualClock(START);
  const instance = await createInstance({ config: simulatedConfig(config, path.join(dir, `${name}.db`)), file: null, baseDir: dir }, { clock, transport: captureTransport, startWorker: false });
  try {
    return await run(instance, clock);
  } finally {
    await instance.close();
  }
}

/**
 * The simulated bot posts JSON, so it sends no file: a required file field is taken as optional, the
 * worst case (a required file only makes a bot's post harder; files never reach an auto-reply).
 */
function withoutRequiredFiles(config: Config): Config {
  return { ...config, forms: config.forms.map((f) => ({ ...f, fields: f.fields.map((x) => (x.type === 'file' ? { ...x, required: false } : x)) })) };
}

export async function selftestReport(fullConfig: Config, opts: { posts?: number; drip?: boolean; log?: (line: string) => void } = {}): Promise<SelftestReport> {
  const config = withoutRequiredFiles(fullConfig);
  const posts = opts.posts ?? 2000;
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-selftest-'));
  const forms: FormVerdict[] = [];
  let instance: InstanceVerdict | null = null;
  let runs = 0;
  try {
    const makers = new Map<string, FieldMaker>();
    for (const form of config.forms) {
      const maker = fieldMaker(form, stranger);
      if ('error' in maker) {
        forms.push(unmeasured(config, form, posts, `the simulated attacker could not fill in the form: ${maker.error}`));
        continue;
      }
      makers.set(form.id, maker);
      const verdict = await withInstance(config, dir, `greedy-${++runs}`, (inst, clock) => attackForm(inst, config, form, clock, posts, maker));
      opts.log?.(`simulated ${posts} posts to form ${form.id}`);
      forms.push(verdict);
    }
    if (opts.drip !== false) {
      // The patient bot, on one form at a time (forms with the same caps behave the same: measured once).
      const perPolicy = new Map<string, DripVerdict>();
      for (const v of forms) {
        const form = config.forms.find((f) => f.id === v.form)!;
        if (!form.autoreply?.enabled || !makers.has(form.id)) continue;
        const key = JSON.stringify(capPolicyFor(config, form));
        let d = perPolicy.get(key);
        if (!d) {
          d = await dripVerdict(config, dir, [form], makers, () => `drip-${++runs}`, v.problems);
          perPolicy.set(key, d);
          opts.log?.(`simulated the patient bot on form ${form.id}`);
        }
        v.drip = d;
        judgeDrip(v);
      }
      const sending = config.forms.filter((f) => f.autoreply?.enabled && makers.has(f.id));
      if (sending.length >= 2) {
        const problems: string[] = [];
        const drip = await dripVerdict(config, dir, sending, makers, () => `drip-${++runs}`, problems);
        instance = { forms: sending.map((f) => f.id), budget: { ...config.mail.autoreplyBudget }, drip, problems };
        opts.log?.(`simulated the patient bot on all ${sending.length} forms`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { forms, instance };
}

/** The per-form verdicts only (the instance figure is in selftestReport). */
export async function selftest(config: Config, opts: { posts?: number; drip?: boolean; log?: (line: string) => void } = {}): Promise<FormVerdict[]> {
  return (await selftestReport(config, opts)).forms;
}

async function dripVerdict(config: Config, dir: string, forms: FormConfig[], makers: Map<string, FieldMaker>, name: () => string, problems: string[]): Promise<DripVerdict> {
  const run = (mode: DripMode) => withInstance<DripOutcome>(config, dir, name(), (inst, clock) => simulateDrip(inst, clock, forms, makers, mode));
  const capped = await run('capped');
  const silent = await run('silent');
  for (const o of [capped, silent]) {
    for (const s of o.surprises) problems.push(`patient bot (${o.mode}): ${s}`);
  }
  return {
    worstPerDay: capped.strangerMails,
    worstAlerted: capped.alerts.length > 0,
    silentPerDay: silent.strangerMails,
    silentAlerted: silent.alerts.length > 0,
    trips: [...new Set([...capped.trips, ...silent.trips])],
  };
}

/** Adds the patient bot's findings to a form's verdict. */
function judgeDrip(v: FormVerdict): void {
  const d = v.drip;
  if (!d) return;
  if (v.statedBudget.perDay !== null && d.worstPerDay > v.statedBudget.perDay) {
    v.advice.push(`The patient bot got more auto-replies (${d.worstPerDay}) than autoreply.caps.perFormDay (${v.statedBudget.perDay}): report this as a bug.`);
    v.pass = false;
  }
  if (d.worstPerDay > 0 && !d.worstAlerted) {
    v.advice.push('A bot can take this form\'s whole auto-reply cap every day without you being told: keep monitor.enabled and monitor.capAlertHours (default 2) on.');
  } else if (d.silentPerDay > 0) {
    v.advice.push(`A bot that avoids every alert still gets ${d.silentPerDay} auto-replies a day to strangers: lower autoreply.caps.perFormDay if that is more than your genuine visitors need.`);
  }
  if (v.problems.length > 0) v.pass = false;
}

/** A form the simulation could not post to: it fails, with the reason. */
function unmeasured(config: Config, form: FormConfig, posts: number, why: string): FormVerdict {
  const policy = capPolicyFor(config, form);
  return {
    form: form.id,
    posts,
    strangerMails: 0,
    maxPerHour: 0,
    visitorTextReachedStrangers: false,
    ownerMails: 0,
    statedBudget: { perHour: policy.perFormHour, perDay: policy.perFormDay },
    lint: lintConfig({ ...config, forms: [form] }).map((i) => `${i.severity}: ${i.message}`),
    pass: false,
    advice: ['Nothing was measured: check the form\'s field rules (pattern, options, lengths) or report this as a bug.'],
    problems: [why],
    notes: [],
    drip: null,
  };
}

async function attackForm(instance: Instance, config: Config, form: FormConfig, clock: ManualClock, posts: number, maker: FieldMaker): Promise<FormVerdict> {
  const start = clock.now().getTime();
  const step = Math.floor(86_400_000 / posts);
  const honeypot = Object.fromEntries(config.defenses.honeypot.fields.map((f) => [f, '']));
  let nextMinute = start + 60_000;
  const minute = async () => {
    await instance.housekeeping();
    await instance.worker.drain();
  };
  // Answers other than 201, by what they said (the first few kinds).
  const refused = new Map<string, number>();
  let accepted = 0;
  for (let i = 0; i < posts; i++) {
    const res = await instance.app.inject({
      method: 'POST',
      url: `/api/forms/${form.id}/submissions`,
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `192.0.2.${i % 250}` },
      payload: JSON.stringify({ ...maker.values(i, stranger(i)), ...honeypot, _token: instance.defenses.tokens.issueToken(form.id, clock.now()) }),
    });
    if (res.statusCode === 201) accepted++;
    else {
      const key = `${res.statusCode} ${explain(res.body)}`;
      refused.set(key, (refused.get(key) ?? 0) + 1);
    }
    clock.advance(step);
    while (clock.now().getTime() >= nextMinute) {
      await minute();
      nextMinute += 60_000;
    }
  }
  for (let i = 0; i < 10; i++) {
    clock.advance(60_000);
    await minute();
  }

  const owners = new Set([...form.notify.to.map((a) => a.toLowerCase()), ...config.alerts.to.map((a) => a.toLowerCase())]);
  const sent = await instance.db.kysely.selectFrom('outbox').select(['to_addr', 'subject', 'body', 'sent_at', 'kind']).where('state', '=', 'sent').execute();
  const strangers = sent.filter((m) => !owners.has(m.to_addr.toLowerCase()));
  const perHour = new Map<number, number>();
  for (const m of strangers) {
    const h = Math.floor(((m.sent_at ?? start) - start) / 3_600_000);
    perHour.set(h, (perHour.get(h) ?? 0) + 1);
  }
  const leaked = strangers.some((m) => `${m.subject}\n${m.body}`.includes(MARK) || new RegExp(SPAM_HOST.replace(/\./g, '\\.'), 'i').test(`${m.subject}\n${m.body}`) || /selftest-spam/i.test(`${m.subject}\n${m.body}`));
  const policy = capPolicyFor(config, form);
  const stated = { perHour: policy.perFormHour, perDay: policy.perFormDay };
  const maxPerHour = Math.max(0, ...perHour.values());
  const lint = lintConfig({ ...config, forms: [form] }).map((i) => `${i.severity}: ${i.message}`);
  const problems: string[] = [];
  if (accepted === 0) problems.push(`none of the ${posts} simulated posts was accepted: nothing was measured`);
  else if (refused.size > 0) problems.push(`${posts - accepted} of the ${posts} simulated posts were not accepted`);
  for (const [why, n] of [...refused.entries()].slice(0, 5)) problems.push(`  ${n} x ${why}`);
  const notes = [...maker.notes];
  if (maker.textFields.length === 0 && form.autoreply?.enabled) notes.push('no free-text field takes the marker text: whether visitor text reaches strangers was checked only through the generated values');
  const advice: string[] = [];
  if (leaked) advice.push('Visitor text reached strangers: set autoreply.echo: none (the default) and use only system placeholders in the auto-reply.');
  if (stated.perDay === null && stated.perHour === null) advice.push('The auto-reply has no form-level cap: remove autoreply.caps: null to get the defaults (20 an hour, 100 a day).');
  if (stated.perDay !== null && strangers.length > stated.perDay) advice.push(`More auto-replies than autoreply.caps.perFormDay (${stated.perDay}) reached strangers: report this as a bug.`);
  if (stated.perHour !== null && maxPerHour > stated.perHour) advice.push(`More auto-replies in one hour than autoreply.caps.perFormHour (${stated.perHour}): report this as a bug.`);
  if (form.autoreply?.enabled && strangers.length > 0 && advice.length === 0) {
    advice.push('Within budget. To send strangers even less, lower autoreply.caps.perFormDay or disable the auto-reply.');
  }
  const overBudget = (stated.perDay !== null && strangers.length > stated.perDay) || (stated.perHour !== null && maxPerHour > stated.perHour) || (stated.perDay === null && stated.perHour === null && strangers.length > 0);
  return {
    form: form.id,
    posts,
    strangerMails: strangers.length,
    maxPerHour,
    visitorTextReachedStrangers: leaked,
    ownerMails: sent.length - strangers.length,
    statedBudget: stated,
    lint,
    pass: !leaked && !overBudget && !lint.some((l) => l.startsWith('error')) && problems.length === 0,
    advice,
    problems,
    notes,
    drip: null,
  };
}

/** The error code and field errors of a refused post, briefly. */
function explain(body: string): string {
  try {
    const e = (JSON.parse(body) as { error?: { code?: string; fields?: Record<string, { code?: string }> } }).error;
    const fields = Object.entries(e?.fields ?? {}).map(([k, v]) => `${k}: ${v.code}`);
    return `${e?.code ?? 'error'}${fields.length ? ` (${fields.join(', ')})` : ''}`;
  } catch {
    return body.slice(0, 80);
  }
}

function dripLines(d: DripVerdict, indent: string): string[] {
  return [
    `${indent}stranger mails a day, at most:          ${d.worstPerDay} (the owner ${d.worstAlerted ? 'is alerted' : 'is NOT alerted'})`,
    `${indent}stranger mails a day, with no alert:    ${d.silentPerDay}${d.silentAlerted ? ' (but it was noticed)' : ''}`,
    ...(d.trips.length ? [`${indent}breaker trips: ${d.trips.join('; ')}`] : []),
  ];
}

export function formatVerdicts(verdicts: FormVerdict[], instance: InstanceVerdict | null = null): string {
  const lines: string[] = [
    'Formwarden self-test: a bot that passes every bot check posts strangers\' addresses and a spam URL for one simulated day,',
    'and a patient bot that knows every cap and trip rule stays just under each of them for a day.',
    '',
  ];
  for (const v of verdicts) {
    lines.push(`form ${v.form}: ${v.pass ? 'PASS' : 'FAIL'}`);
    lines.push(`  attack posts:                          ${v.posts}`);
    lines.push(`  auto-replies to strangers, whole day:  ${v.strangerMails} (stated budget: ${v.statedBudget.perDay ?? 'none'} a day, ${v.statedBudget.perHour ?? 'none'} an hour)`);
    lines.push(`  auto-replies to strangers, worst hour: ${v.maxPerHour}`);
    lines.push(`  visitor text reached a stranger:       ${v.visitorTextReachedStrangers ? 'YES' : 'no'}`);
    lines.push(`  mails to the owner (notifications, digests, alerts): ${v.ownerMails}`);
    if (v.drip) {
      lines.push('  patient bot (knows every rule, stays just under each), true worst case:');
      lines.push(...dripLines(v.drip, '    '));
    }
    for (const p of v.problems) lines.push(`  problem: ${p}`);
    for (const n of v.notes) lines.push(`  note: ${n}`);
    for (const l of v.lint) lines.push(`  ${l}`);
    for (const a of v.advice) lines.push(`  -> ${a}`);
    lines.push('');
  }
  if (instance) {
    lines.push(`instance (${instance.forms.length} forms together; budget ${instance.budget.perHour} an hour, ${instance.budget.perDay} a day):`);
    lines.push('  patient bot spread over every form, true worst case:');
    lines.push(...dripLines(instance.drip, '    '));
    for (const p of instance.problems) lines.push(`  problem: ${p}`);
    lines.push('');
  }
  return lines.join('\n');
}

export async function runSelftest(configPath: string | undefined, opts: { json?: boolean; posts?: number }): Promise<number> {
  const loaded = loadConfig(configPath, process.env, process.cwd(), { lint: false });
  const report = await selftestReport(loaded.config, { posts: opts.posts });
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatVerdicts(report.forms, report.instance));
  const ok = report.forms.every((v) => v.pass) && (report.instance?.problems.length ?? 0) === 0;
  return ok ? 0 : 1;
}
