// `formwarden submissions delete <id>` and `... --email <address>`: erasure requests (APPI / GDPR).
// Without --yes it is a dry run: it shows exactly what would be deleted (the same statements, rolled back).
import { loadConfig } from '../config/load.js';
import { parseEmail } from '../forms/email.js';
import { cliLang } from '../i18n/messages.js';
import { executeErasure, planEmailErasure, planSubmissionErasure, sameAddress, TABLES, type ErasureResult, type MatchedSubmission } from '../submissions/delete.js';
import { jsonTerminalSafe, terminalSafe } from '../util/terminal-safe.js';
import { iso, withDb } from './data.js';

export interface DeleteOptions {
  email?: string;
  yes?: boolean;
  includeSuppression?: boolean;
  json?: boolean;
  lang?: string;
}


const text = {
  en: {
    usage: 'give a submission id (or receipt number) or --email <address>, not both',
    badEmail: (a: string) => `"${a}" is not one plain email address`,
    notFound: (id: string) => `no submission ${id}`,
    headDone: (t: string) => `Deleted for ${t}:`,
    headDry: (t: string) => `Would delete for ${t} (dry run: nothing was deleted):`,
    rerun: 'Run again with --yes to delete.',
    matched: 'Submissions:',
    mentioned: (n: number) => `${n} other submission(s) mention the address inside a longer text; they are not deleted (they may be someone else's). Check them and delete by id if they belong to this person:`,
    supKept: (a: string) => `The suppression list entry ${a} is kept: it is what guarantees Formwarden never mails this address again. Add --include-suppression to remove it too.`,
    supGone: (a: string, dry: boolean) => `The suppression list entry ${a} ${dry ? 'would be' : 'is'} removed (--include-suppression): the address may get auto-replies again.`,
    supNone: 'The address is not on the suppression list.',
    busy: (n: number) => `${n} item(s) kept because a mail of theirs is being sent right now: run the command again in a few minutes.`,
    owner: (a: string) => `Note: ${a} is an owner address in the configuration (notify.to or alerts.to): the mails to it are the notifications of every inquiry.`,
  },
  ja: {
    usage: '送信 ID（または受付番号）か --email <アドレス> のどちらか一方を指定してください',
    badEmail: (a: string) => `「${a}」は1件の正しいメールアドレスではありません`,
    notFound: (id: string) => `送信 ${id} は見つかりません`,
    headDone: (t: string) => `${t} について削除しました:`,
    headDry: (t: string) => `${t} について削除される内容（確認のみ。何も削除していません）:`,
    rerun: '削除するには --yes を付けて再実行してください。',
    matched: '対象の送信:',
    mentioned: (n: number) => `ほかに ${n} 件の送信が、長い文章の中でこのアドレスに触れています。別の人のデータかもしれないため削除していません。確認のうえ、本人のものなら ID を指定して削除してください:`,
    supKept: (a: string) => `抑止リストの ${a} は残しました。このアドレスに二度とメールを送らないことを保証するための記録です。これも消す場合は --include-suppression を付けてください。`,
    supGone: (a: string, dry: boolean) => `抑止リストの ${a} を${dry ? '削除します' : '削除しました'}（--include-suppression）。このアドレスに再び自動返信が送られる可能性があります。`,
    supNone: 'このアドレスは抑止リストにありません。',
    busy: (n: number) => `${n} 件は、そのメールを今まさに送信中のため残しました。数分後にもう一度実行してください。`,
    owner: (a: string) => `注意: ${a} は設定にあるオーナーのアドレス（notify.to または alerts.to）です。このアドレス宛てのメールは、すべてのお問い合わせの通知です。`,
  },
} as const;

const line = (s: MatchedSubmission) => `  ${s.id}  ${s.receipt ?? '-'}  ${terminalSafe(s.form)}  ${iso(s.created_at)}`;

export async function submissionsDelete(configPath: string | undefined, id: string | undefined, opts: DeleteOptions): Promise<number> {
  const t = text[cliLang(opts.lang)];
  if ((id === undefined) === (opts.email === undefined)) {
    process.stderr.write(`formwarden: ${t.usage}\n`);
    return 2;
  }
  if (opts.email !== undefined && !parseEmail(opts.email.trim())) {
    process.stderr.write(`formwarden: ${t.badEmail(terminalSafe(opts.email))}\n`);
    return 2;
  }
  const dryRun = !opts.yes;
  const result = await withDb(configPath, async (db): Promise<ErasureResult | null> => {
    const plan = opts.email !== undefined ? await planEmailErasure(db.kysely, opts.email.trim()) : await planSubmissionErasure(db.kysely, id!);
    if (!plan) return null;
    return executeErasure(db.kysely, plan, { now: Date.now(), dryRun, includeSuppression: opts.includeSuppression });
  });
  if (!result) {
    process.stderr.write(`formwarden: ${t.notFound(terminalSafe(id ?? ''))}\n`);
    return 1;
  }
  const busy = result.kept.length + result.keptMails.length;
  if (opts.json) {
    const { plan } = result;
    const json = {
      dryRun,
      target: plan.target,
      deleted: result.rows,
      submissions: plan.submissions.map((s) => ({ ...s, created_at: iso(s.created_at) })),
      mentioned: plan.mentioned.map((s) => ({ ...s, created_at: iso(s.created_at) })),
      suppression: plan.suppression ? { address: plan.suppression, kept: !opts.includeSuppression } : null,
      keptBecauseSending: { submissions: result.kept, mails: result.keptMails },
    };
    process.stdout.write(`${jsonTerminalSafe(JSON.stringify(json, null, 2))}\n`);
    return busy > 0 ? 1 : 0;
  }
  const target = terminalSafe('email' in result.plan.target ? result.plan.target.email : result.plan.target.id);
  const out: string[] = [dryRun ? t.headDry(target) : t.headDone(target)];
  const width = Math.max(...TABLES.map((x) => x.length));
  for (const table of TABLES) out.push(`  ${table.padEnd(width)}  ${result.rows[table]}`);
  if (result.plan.submissions.length) out.push('', t.matched, ...result.plan.submissions.map(line));
  if (result.plan.mentioned.length) out.push('', t.mentioned(result.plan.mentioned.length), ...result.plan.mentioned.map(line));
  if ('email' in result.plan.target) {
    const sup = result.plan.suppression;
    out.push('', !sup ? t.supNone : opts.includeSuppression ? t.supGone(terminalSafe(sup), dryRun) : t.supKept(terminalSafe(sup)));
  }
  if ('email' in result.plan.target && isOwnerAddress(configPath, result.plan.target.email)) out.push('', t.owner(target));
  if (busy > 0) out.push('', t.busy(busy));
  if (dryRun) out.push('', t.rerun);
  process.stdout.write(`${out.join('\n')}\n`);
  return busy > 0 ? 1 : 0;
}

/** The address is one the configuration sends owner mail to (then "every mail to it" is everyone's notifications). */
function isOwnerAddress(configPath: string | undefined, email: string): boolean {
  const { config } = loadConfig(configPath);
  const owners = [...config.forms.flatMap((f) => f.notify.to), ...config.alerts.to];
  return owners.some((a) => sameAddress(a, email));
}
