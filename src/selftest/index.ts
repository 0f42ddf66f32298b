// `formwarden selftest`: the owner's audit of their own configuration. It boots an in-process copy
// of the instance on that configuration (a temporary SQLite file, mail captured, a simulated clock),
// runs a stranger-list attack by a bot that passes every bot check for a simulated day, and reports
// per form what reached strangers. No mail leaves the machine and the owner's database is not touched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lintConfig, loadConfig } from '../config/load.js';
import type { Config, FormConfig } from '../config/schema.js';
import { createInstance, type Instance } from '../main.js';
import { captureTransport } from '../mail/transport.js';
import { capPolicyFor } from '../submissions/accept.js';
import { ManualClock } from '../util/clock.js';

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
}

const MARK = 'FWSELFTEST';
const payload = (i: number) => `${MARK}${i} https://selftest-spam.example.ru/buy?${i} selftest-spam[.]example`;

export async function selftest(config: Config, opts: { posts?: number; log?: (line: string) => void } = {}): Promise<FormVerdict[]> {
  const posts = opts.posts ?? 2000;
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-selftest-'));
  const results: FormVerdict[] = [];
  try {
    for (const form of config.forms) {
      const clock = new ManualClock(Date.UTC(2026, 0, 5, 0, 0, 0));
      // The attacker in this simulation beats every bot check (token, proof-of-work, rate limits,
      // content rules), so only the relay protections are measured: the worst case.
      const simulated: Config = {
        ...config,
        database: { url: `sqlite:${path.join(dir, `${form.id}.db`)}` },
        mail: { ...config.mail, transport: 'capture' },
        redis: undefined,
        server: { ...config.server, port: 0, logLevel: 'silent', trustProxy: ['127.0.0.1'], loadShedding: { ...config.server.loadShedding, enabled: false } },
        defenses: {
          ...config.defenses,
          formToken: { ...config.defenses.formToken, minFillSeconds: 0, maxAgeMinutes: 10_000_000 },
          altcha: { ...config.defenses.altcha, enabled: false },
          captchaImage: { ...config.defenses.captchaImage, enabled: false },
          captcha: undefined,
          akismet: undefined,
          rateLimit: { ...config.defenses.rateLimit, enabled: false },
          content: { ...config.defenses.content, enabled: false },
          geo: { ...config.defenses.geo, enabled: false },
          ipLists: { allow: [], block: [], ban: false },
        },
      };
      const instance = await createInstance({ config: simulated, file: null, baseDir: dir }, { clock, transport: captureTransport, startWorker: false });
      try {
        results.push(await attackForm(instance, config, form, clock, posts));
      } finally {
        await instance.close();
      }
      opts.log?.(`simulated ${posts} posts to form ${form.id}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

async function attackForm(instance: Instance, config: Config, form: FormConfig, clock: ManualClock, posts: number): Promise<FormVerdict> {
  const start = clock.now().getTime();
  const step = Math.floor(86_400_000 / posts);
  const honeypot = Object.fromEntries(config.defenses.honeypot.fields.map((f) => [f, '']));
  const target = form.autoreply?.to ?? form.fields.find((f) => f.type === 'email')?.name;
  let nextMinute = start + 60_000;
  const minute = async () => {
    await instance.housekeeping();
    await instance.worker.drain();
  };
  for (let i = 0; i < posts; i++) {
    const fields: Record<string, string> = {};
    for (const f of form.fields) {
      if (f.name === target || f.type === 'email') fields[f.name] = `victim${i}@victim-${i % 50}.example`;
      else if (f.options?.length) fields[f.name] = f.options[0]!.value;
      else if (f.type === 'tel') fields[f.name] = '0312345678';
      else if (f.type === 'url') fields[f.name] = `https://selftest-spam.example.ru/${i}`;
      else if (f.type === 'checkbox') fields[f.name] = f.value ?? 'yes';
      else fields[f.name] = payload(i).slice(0, f.maxLength ?? 200);
    }
    await instance.app.inject({
      method: 'POST',
      url: `/api/forms/${form.id}/submissions`,
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `192.0.2.${i % 250}` },
      payload: JSON.stringify({ ...fields, ...honeypot, _token: instance.defenses.tokens.issueToken(form.id, clock.now()) }),
    });
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
  const leaked = strangers.some((m) => `${m.subject}\n${m.body}`.includes(MARK) || /selftest-spam/i.test(`${m.subject}\n${m.body}`));
  const policy = capPolicyFor(config, form);
  const stated = { perHour: policy.perFormHour, perDay: policy.perFormDay };
  const maxPerHour = Math.max(0, ...perHour.values());
  const lint = lintConfig({ ...config, forms: [form] }).map((i) => `${i.severity}: ${i.message}`);
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
    pass: !leaked && !overBudget && !lint.some((l) => l.startsWith('error')),
    advice,
  };
}

export function formatVerdicts(verdicts: FormVerdict[]): string {
  const lines: string[] = ['Formwarden self-test: a bot that passes every bot check posts strangers\' addresses and a spam URL for one simulated day.', ''];
  for (const v of verdicts) {
    lines.push(`form ${v.form}: ${v.pass ? 'PASS' : 'FAIL'}`);
    lines.push(`  attack posts:                          ${v.posts}`);
    lines.push(`  auto-replies to strangers, whole day:  ${v.strangerMails} (stated budget: ${v.statedBudget.perDay ?? 'none'} a day, ${v.statedBudget.perHour ?? 'none'} an hour)`);
    lines.push(`  auto-replies to strangers, worst hour: ${v.maxPerHour}`);
    lines.push(`  visitor text reached a stranger:       ${v.visitorTextReachedStrangers ? 'YES' : 'no'}`);
    lines.push(`  mails to the owner (notifications, digests, alerts): ${v.ownerMails}`);
    for (const l of v.lint) lines.push(`  ${l}`);
    for (const a of v.advice) lines.push(`  -> ${a}`);
    lines.push('');
  }
  return lines.join('\n');
}

export async function runSelftest(configPath: string | undefined, opts: { json?: boolean; posts?: number }): Promise<number> {
  const loaded = loadConfig(configPath, process.env, process.cwd(), { lint: false });
  const verdicts = await selftest(loaded.config, { posts: opts.posts });
  process.stdout.write(opts.json ? `${JSON.stringify(verdicts, null, 2)}\n` : formatVerdicts(verdicts));
  return verdicts.every((v) => v.pass) ? 0 : 1;
}
