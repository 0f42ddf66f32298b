// `formwarden check-config`: validates the file and prints a summary (exit 2 when invalid).
import { lintConfig, loadConfig, type LoadedConfig } from '../config/load.js';
import { formatRelayReport, relayRisks } from '../relay/risks.js';
import { openSenders } from '../mail/senders.js';
import { defenseProblem } from '../defenses/setup.js';
import { dkimReport } from '../mail/dkim.js';
import { defaultAutoreplyBudget, type Config } from '../config/schema.js';
import { resolveCapPolicy } from '../relay/caps.js';
import { webhookLines, webhookWarnings } from '../integrations/report.js';

export async function checkConfig(configPath: string | undefined): Promise<number> {
  const loaded = loadConfig(configPath);
  const { config } = loaded;
  const problems = startupProblems(loaded);
  if (problems.length > 0) {
    process.stderr.write(problems.map((p) => `formwarden: ${p}\n`).join(''));
    return 2;
  }
  const out: string[] = [`configuration OK: ${loaded.file ?? 'built-in demo'}`];
  for (const form of config.forms) {
    out.push(`form ${form.id}: ${form.fields.length} fields; notifies ${form.notify.to.join(', ')}`);
    out.push(...webhookLines(form));
  }
  out.push('', relayReport(config));
  if (config.mail.dkim) out.push('', ...dkimReport(config, loaded.baseDir));
  for (const w of lintConfig(config).filter((i) => i.severity === 'warning')) out.push(`warning: ${w.message}`);
  for (const w of budgetWarnings(config)) out.push(`warning: ${w}`);
  for (const w of webhookWarnings(config, process.env)) out.push(`warning: ${w}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/**
 * What `serve` refuses beyond the schema: the senders (From, DKIM keys) and the defenses' details (CIDRs,
 * patterns, geo databases), by the same functions, so a configuration this command calls OK starts. Webhook
 * settings that may come from the environment are warnings here (the environment of `serve` may differ).
 */
export function startupProblems(loaded: LoadedConfig): string[] {
  const senders = openSenders(loaded.config, loaded.baseDir);
  const defenses = defenseProblem(loaded.config);
  return [...(senders.ok ? [] : senders.problems), ...(defenses ? [defenses] : [])];
}

/**
 * The instance budget (mail.autoreplyBudget) is the backstop against a bot that spreads over every form: set
 * at or above what the forms' caps add up to, it never binds. (Unset, it is derived below that sum.)
 */
export function budgetWarnings(config: Config): string[] {
  const caps = config.forms.filter((f) => f.autoreply?.enabled).map((f) => resolveCapPolicy(f.autoreply?.caps));
  const out: string[] = [];
  const check = (key: 'perDay' | 'perHour', perForm: (c: (typeof caps)[number]) => number | null, unit: string, unitJa: string) => {
    const sending = caps.map(perForm).filter((n) => n !== 0);
    if (sending.length < 2) return;
    const sum = sending.reduce<number>((a, b) => a + (b ?? Infinity), 0);
    const budget = config.mail.autoreplyBudget[key];
    if (budget < sum) return;
    const derived = defaultAutoreplyBudget(config.forms)[key];
    out.push(
      `mail.autoreplyBudget.${key} (${budget}) is not below what the ${sending.length} forms' caps add up to (${sum} ${unit}): a bot spreading over every form gets all of it. Remove it (the default is ${derived}) or lower it. / mail.autoreplyBudget.${key}（${budget}）が ${sending.length} 個のフォームの上限の合計（${unitJa} ${sum} 通）以上です。全フォームに分散するボットに上限いっぱいまで送られます。設定を削除する（既定値 ${derived}）か、値を下げてください。`,
    );
  };
  check('perDay', (c) => c.perFormDay, 'a day', '1日');
  check('perHour', (c) => (c.perFormHour === null ? c.perFormDay : c.perFormDay === null ? c.perFormHour : Math.min(c.perFormHour, c.perFormDay)), 'an hour', '1時間');
  return out;
}

/** Every mail whose recipient a visitor types, with what protects it. */
export function relayReport(config: import('../config/schema.js').Config): string {
  return formatRelayReport(config.forms.flatMap((f) => relayRisks(f)));
}
