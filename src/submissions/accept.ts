// Accepting a submission: validate, decide, then write the submission and its mails in one
// transaction (the outbox), so nothing accepted is lost and nothing half-written remains.
import type { Config, FormConfig } from '../config/schema.js';
import type { Lang } from '../i18n/messages.js';
import { validateFields, type FieldError, type RawFields } from '../forms/validate.js';
import { enqueue, outboxRow, type NewMail } from '../mail/outbox.js';
import { planAutoreply, planNotifications } from '../mail/plan.js';
import type { Db } from '../store/db.js';
import type { Clock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { newId } from '../util/id.js';

export type Action = 'accept' | 'accept_no_autoreply' | 'quarantine' | 'reject';

export interface Verdict {
  action: Action;
  score: number;
  symbols: { symbol: string; score: number; detail?: string }[];
}

export const CLEAN_VERDICT: Verdict = { action: 'accept', score: 0, symbols: [] };

export interface IntakeInput {
  form: FormConfig;
  raw: RawFields;
  ip: string;
  userAgent: string;
  lang: Lang;
}

export type IntakeResult =
  | { kind: 'accepted'; id: string; action: Action; mails: number }
  | { kind: 'invalid'; errors: Record<string, FieldError>; badInput?: string };

export interface IntakeDeps {
  config: Config;
  db: Db;
  clock: Clock;
  fromAddress: string;
  /** Decides on a valid submission (part 3's pipeline); default: accept. */
  decide?: (input: IntakeInput, values: Record<string, string>) => Promise<Verdict>;
}

export async function acceptSubmission(deps: IntakeDeps, input: IntakeInput): Promise<IntakeResult> {
  const checked = validateFields(input.form, input.raw);
  if (!checked.ok) return { kind: 'invalid', errors: checked.errors, badInput: checked.badInput };
  const verdict = deps.decide ? await deps.decide(input, checked.values) : CLEAN_VERDICT;
  const createdAt = deps.clock.now();
  const now = createdAt.getTime();
  const id = newId('s', now);
  const planned = { id, form: input.form, values: checked.values, lang: input.lang, createdAt };

  const mails: NewMail[] = [];
  let autoreplyState = 'none';
  if (verdict.action === 'accept' || verdict.action === 'accept_no_autoreply') mails.push(...planNotifications(deps.config, planned));
  const autoreply = planAutoreply(deps.config, planned, now + delayMs(input.form));
  if (autoreply) {
    if (verdict.action === 'accept') {
      mails.push(autoreply);
      autoreplyState = 'queued';
    } else autoreplyState = `skipped:${verdict.action}`;
  }
  const rows = mails.map((m) => outboxRow(m, deps.fromAddress, now));
  await deps.db.kysely.transaction().execute(async (trx) => {
    await trx
      .insertInto('submissions')
      .values({
        id,
        form_id: input.form.id,
        created_at: now,
        ip: input.ip,
        user_agent: input.userAgent.slice(0, 500),
        lang: input.lang,
        fields: JSON.stringify(checked.values),
        action: verdict.action,
        score: verdict.score,
        verdict: JSON.stringify(verdict),
        autoreply: autoreplyState,
      })
      .execute();
    await enqueue(trx, rows);
  });
  return { kind: 'accepted', id, action: verdict.action, mails: rows.length };
}

function delayMs(form: FormConfig): number {
  return parseDuration(form.autoreply?.delay ?? '0s') ?? 0;
}
