// Accepting a submission: validate, decide (the defense pipeline), then write the submission and
// its mails in one transaction (the outbox), so nothing accepted is lost and nothing half-written
// remains. Requests the pipeline refuses outright (blocked address, rate limit, missing token) are
// turned away before anything is written; posts refused at the door for want of proof are kept compactly.
import type { Config, FormConfig } from '../config/schema.js';
import type { Defenses } from '../defenses/setup.js';
import type { Lang } from '../i18n/messages.js';
import { SYSTEM_FIELDS, validateFields, type FieldError, type RawFields } from '../forms/validate.js';
import { hash } from 'node:crypto';
import type { NotifyRate } from '../mail/digest.js';
import { siteOf } from '../config/sites.js';
import { outboxRow } from '../mail/outbox.js';
import { planAutoreply, planNotifications } from '../mail/plan.js';
import type { Monitor } from '../monitor/breaker.js';
import { mailboxCapKeys, resolveCapPolicy, type CapPolicy } from '../relay/caps.js';
import { recordingReplayStore, type Action, type RunResult, type Submission, type Verdict } from '../pipeline/index.js';
import type { Db } from '../store/db.js';
import type { Clock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { newId } from '../util/id.js';
import type { WebhookPlanner } from '../integrations/plan.js';
import { NO_PROOF } from '../defenses/form-token/index.js';
import { receiptsFor, type Receipt } from './receipt.js';
import { fileSummaries } from '../attachments/summary.js';
import { attachmentRows } from '../attachments/store.js';
import type { SubmissionTable } from '../store/schema.js';
import { AcceptWriter, receiptTaken, type AcceptedWrite, type WriteOutcome } from './write.js';

export type { Action, Verdict };

export const CLEAN_VERDICT: Verdict = { action: 'accept', score: 0, symbols: [] };

export interface IntakeInput {
  form: FormConfig;
  raw: RawFields;
  ip: string;
  userAgent: string;
  lang: Lang;
  headers?: Record<string, string | undefined>;
}

export type IntakeResult =
  | { kind: 'accepted'; id: string; receipt: string; action: Action; mails: number; webhooks: number; verdict: Verdict; autoreply: string }
  | { kind: 'invalid'; errors: Record<string, FieldError>; badInput?: string }
  | { kind: 'refused'; reason: string; retryAfterSeconds?: number; verdict: Verdict };

export interface IntakeDeps {
  config: Config;
  db: Db;
  clock: Clock;
  fromAddress: string;
  /** The From address of a form's mails when it differs from fromAddress (a form of a site with its own mail.from). */
  senderAddress?: (formId: string) => string | undefined;
  /** The bot defenses; without them every valid submission is accepted (tests of the mail path). */
  defenses?: Defenses;
  /** The circuit breaker; while it is open for a form, its auto-replies are skipped. */
  monitor?: Monitor;
  /** Notifications per form and hour; above the threshold they go into the digest. */
  notifyRate?: NotifyRate;
  /** Chat and webhook messages (forms[].webhooks), enqueued with the submission; none without it. */
  webhooks?: WebhookPlanner;
  /** Hands out a receipt number (tests force collisions); default the database's (receiptsFor). */
  newReceipt?: () => Promise<Receipt>;
  /** The group-committing writer; default one per database (writerFor). */
  writer?: AcceptWriter;
}

const writers = new WeakMap<Db, AcceptWriter>();
/** The database's one writer, so every intake on it shares its group commits. */
export function writerFor(db: Db): AcceptWriter {
  let w = writers.get(db);
  if (!w) writers.set(db, (w = new AcceptWriter(db)));
  return w;
}

const capPolicies = new WeakMap<Config, WeakMap<FormConfig, Readonly<CapPolicy>>>();
/**
 * The budgets one form's auto-replies draw from: its own caps over the defaults, and the instance budget. Made
 * once per configuration and form (both are never changed once loaded) and frozen.
 */
export function capPolicyFor(config: Config, form: FormConfig): Readonly<CapPolicy> {
  let byForm = capPolicies.get(config);
  if (!byForm) capPolicies.set(config, (byForm = new WeakMap()));
  let policy = byForm.get(form);
  if (policy) return policy;
  const site = siteOf(config, form.id);
  policy = Object.freeze({
    ...resolveCapPolicy(form.autoreply?.caps),
    global: { perHour: config.mail.autoreplyBudget.perHour, perDay: config.mail.autoreplyBudget.perDay },
    ...(site ? { site: { id: site.id, ...site.autoreplyBudget } } : {}),
  });
  byForm.set(form, policy);
  return policy;
}

const delays = new WeakMap<FormConfig, number>();
/** The form's autoreply.delay in ms (0 when unset), read once per form. */
function autoreplyDelay(form: FormConfig): number {
  let ms = delays.get(form);
  if (ms === undefined) delays.set(form, (ms = parseDuration(form.autoreply?.delay ?? '0s') ?? 0));
  return ms;
}

/** A hash of the visitor's free text, normalised, to spot bursts of the same message. */
export function contentHash(form: FormConfig, values: Record<string, string>): string {
  const text = form.fields
    .filter((f) => f.type === 'textarea')
    .map((f) => values[f.name] ?? '')
    .join('\n')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
  return text.length < 20 ? '' : hash('sha256', text, 'hex').slice(0, 32);
}

export async function acceptSubmission(deps: IntakeDeps, input: IntakeInput): Promise<IntakeResult> {
  // The group commit waits for this post while it is on its way (PostgreSQL), and not for posts that went.
  const writer = deps.writer ?? writerFor(deps.db);
  const leave = writer.arrive();
  try {
    return await accept(deps, input, writer, leave);
  } finally {
    leave();
  }
}

/** The field names a post may carry besides the form's own: the protocol's and the honeypots (made once per defenses). */
const protocolSets = new WeakMap<readonly string[], ReadonlySet<string>>();
function protocolFieldsWith(honeypotFields: readonly string[]): ReadonlySet<string> {
  let set = protocolSets.get(honeypotFields);
  if (!set) protocolSets.set(honeypotFields, (set = new Set([...SYSTEM_FIELDS, ...honeypotFields])));
  return set;
}

async function accept(deps: IntakeDeps, input: IntakeInput, writer: AcceptWriter, handingIn: () => void): Promise<IntakeResult> {
  const protocolFields = deps.defenses ? protocolFieldsWith(deps.defenses.honeypotFields) : SYSTEM_FIELDS;
  const checked = validateFields(input.form, input.raw, protocolFields, deps.config.attachments);
  if (!checked.ok) return { kind: 'invalid', errors: checked.errors, badInput: checked.badInput };

  const createdAt = deps.clock.now();
  let run: RunResult = { verdict: CLEAN_VERDICT, ran: [] };
  let sub: Submission | null = null;
  // Single-use keys (form token, proof-of-work) this submission spends; given back if it cannot be stored.
  let replay: ReturnType<typeof recordingReplayStore> | null = null;
  if (deps.defenses) {
    sub = toSubmission(input, checked.values, deps.defenses.honeypotFields, createdAt);
    const ctx = deps.defenses.context();
    replay = recordingReplayStore(ctx.replay);
    run = await deps.defenses.pipeline.run(sub, { ...ctx, replay });
    const { verdict } = run;
    if (verdict.finalReason && deps.defenses.refuseReasons.has(verdict.finalReason)) {
      await deps.defenses.pipeline.commit(sub, run, deps.defenses.context());
      return { kind: 'refused', reason: verdict.finalReason, retryAfterSeconds: verdict.retryAfterSeconds, verdict };
    }
  }
  const { verdict } = run;
  const now = createdAt.getTime();
  const id = newId('s', now);
  const delivered = verdict.action === 'accept' || verdict.action === 'accept_no_autoreply';
  // Owner notifications: one mail each, or the digest when the form is flooded or the verdict is quarantine.
  const notifyState = verdict.action === 'quarantine' ? 'digest' : !delivered ? 'none' : (await deps.notifyRate?.overOrCount(input.form.id, now)) ? 'digest' : 'queued';
  // A form of a site sends as the site (sites[].mail): its From names the Message-ID's domain.
  const fromAddress = deps.senderAddress?.(input.form.id) ?? deps.fromAddress;
  const siteReplyTo = siteOf(deps.config, input.form.id)?.mail.replyTo ?? null;
  const delay = autoreplyDelay(input.form);
  // Refused at the door (a reject without a valid token and proof-of-work): kept compactly, see refusedAtDoor.
  const door = deps.defenses ? refusedAtDoor(verdict) : null;

  // The rows to write for one receipt number: the mails quote it, so a number found taken means new rows.
  const rowsFor = (receipt: string, seq: number) => {
    const planned = { id, receipt, form: input.form, values: checked.values, lang: input.lang, createdAt };
    // The owner's notification names the files (they ride on it as attachments); nothing else does.
    const mails = notifyState === 'queued' ? planNotifications(deps.config, { ...planned, values: { ...planned.values, ...fileSummaries(checked.files) } }) : [];
    const notifyRows = mails.map((m) => outboxRow(m, fromAddress, now));
    // Webhooks for the events the owner chose (accepted, quarantined): in the same transaction, never for a reject.
    const hookRows = deps.webhooks?.rows({ id, receipt, form: input.form, values: checked.values, createdAt, action: verdict.action, score: verdict.score }, deps.fromAddress, now) ?? [];

    // The auto-reply: only for an accepted submission, never while the breaker is open or to a suppressed
    // address (read by the writer), and only within every cap (charged in the same transaction). Caps and
    // suppression key on the canonical mailbox; an address that carries words or routing syntax gets none
    // (`skipped:address:*`).
    const plan = planAutoreply(deps.config, planned, now + delay, verdict.score <= 0);
    let autoreplyState = plan ? 'pending' : 'none';
    if (plan) {
      if (verdict.symbols.some((f) => f.symbol === NO_PROOF)) autoreplyState = 'skipped:no_proof';
      else if (verdict.action !== 'accept') autoreplyState = `skipped:${verdict.action}`;
      else if (plan.withheld) autoreplyState = `skipped:address:${plan.withheld}`;
      else if (deps.monitor?.isOpen(input.form.id)) autoreplyState = 'skipped:breaker';
    }
    const autoreply = plan && !plan.withheld && autoreplyState === 'pending' ? plan : null;

    // The one write (src/submissions/write.ts): prepared statements, group commit; answered after its commit.
    const submission: SubmissionTable = {
      id,
      receipt,
      receipt_seq: seq,
      form_id: input.form.id,
      created_at: now,
      ip: input.ip,
      user_agent: door ? '' : input.userAgent.slice(0, 500),
      lang: input.lang,
      fields: door ? '{}' : JSON.stringify(checked.values),
      action: verdict.action,
      score: verdict.score,
      verdict: JSON.stringify(door ? compactVerdict(verdict) : verdict),
      autoreply: autoreplyState,
      notify: notifyState,
      content_hash: door ? '' : contentHash(input.form, checked.values),
      autoreply_to: door || !plan ? null : plan.key,
      refused: door ?? null,
      bytes: door ? postBytes(input.raw) : null,
    };
    const write: AcceptedWrite = {
      submission,
      // The files, with their submission (never for a post refused at the door, whose fields are not kept either).
      attachments: door ? [] : attachmentRows(id, checked.files, now),
      mails: [...notifyRows, ...hookRows],
      // Its row is made (and the mail rendered) by the writer, and only if it is queued.
      autoreply: autoreply
        ? {
            row: () => outboxRow(siteReplyTo ? { ...autoreply.mail!, replyTo: siteReplyTo } : autoreply.mail!, fromAddress, now),
            at: now,
            address: autoreply.key,
            keys: mailboxCapKeys(input.form.id, autoreply.key, capPolicyFor(deps.config, input.form)),
          }
        : null,
    };
    return { write, notifyRows, hookRows };
  };

  const draw = deps.newReceipt ?? (() => receiptsFor(deps.db.kysely).next());
  for (let drawn = 1; ; drawn++) {
    let receipt: string;
    let seq: number;
    try {
      ({ receipt, seq } = await draw());
    } catch (e) {
      await replay?.releaseAll();
      throw e;
    }
    handingIn();
    const { write, notifyRows, hookRows } = rowsFor(receipt, seq);
    let written: WriteOutcome;
    try {
      written = await writer.write(write);
    } catch (e) {
      // A number already taken (its sequence number stored already: never, unless the kv row was set back by
      // hand): nothing was written, draw again.
      if (receiptTaken(e) && drawn < RECEIPT_DRAWS) continue;
      // When the database cannot store the submission (down, locked: answered 503) nothing is written, so the
      // visitor's token and proof-of-work are given back and the same form can be sent again.
      await replay?.releaseAll();
      throw e;
    }
    const autoreplyState = written.autoreply;
    const rows = autoreplyState === 'queued' ? notifyRows.length + 1 : notifyRows.length;
    if (deps.defenses && sub) await deps.defenses.pipeline.commit(sub, run, deps.defenses.context());
    return { kind: 'accepted', id, receipt, action: verdict.action, mails: rows, webhooks: hookRows.length, verdict, autoreply: autoreplyState };
  }
}

/**
 * Receipt numbers drawn for one submission before it is answered "try again" (503, nothing written). The
 * unique index on the sequence number is the check, made by the insert itself; numbers come from blocks no
 * other process gets (src/submissions/receipt.ts), so twenty taken in a row means the sequence was set back.
 */
export const RECEIPT_DRAWS = 20;

// Posts refused at the door. A bot that solved nothing (a junk or spent form token, no proof-of-work) can
// post as fast as the rate limits allow: such a post is kept only as a compact record (form, time, client
// address, reason, symbols, size), never with its fields, user agent or typed address, and the retention
// job deletes it after retention.refused. A reject that carried full proof is kept whole (the owner may
// want to check it), and so is every post that reaches the owner (accepted, quarantined).
const PROOF_SYMBOL = /^(?:(?:TOKEN|ALTCHA)_|NO_PROOF$)/;
/** Symbols whose details are Formwarden's own words (never visitor text); other details are dropped. */
const OWN_DETAIL = /^(?:TOKEN|ALTCHA|HONEYPOT|GEO|IP|RATE|NO)_/;

/** The reason a reject is refused at the door (the symbol of the missing or bad proof), or null. */
export function refusedAtDoor(verdict: Verdict): string | null {
  if (verdict.action !== 'reject') return null;
  return verdict.symbols.find((f) => PROOF_SYMBOL.test(f.symbol))?.symbol ?? null;
}

/** The verdict as kept for a refused post: symbols and scores, and only details Formwarden wrote itself. */
export function compactVerdict(verdict: Verdict): Verdict {
  const symbols = verdict.symbols.map((f) => ({ symbol: f.symbol.slice(0, 80), score: f.score, ...(f.detail && OWN_DETAIL.test(f.symbol) ? { detail: f.detail.slice(0, 60) } : {}) }));
  return { ...verdict, symbols: symbols.slice(0, 20) };
}

/** The size of a post as received (its fields, JSON-encoded). */
function postBytes(raw: RawFields): number {
  try {
    return Buffer.byteLength(JSON.stringify(raw));
  } catch {
    return 0;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function toSubmission(input: IntakeInput, values: Record<string, string>, honeypotFields: string[], receivedAt: Date): Submission {
  const raw = input.raw;
  const captcha = {
    imageToken: str(raw._captcha_token),
    imageAnswer: str(raw._captcha),
    response: str(raw['g-recaptcha-response']) ?? str(raw['cf-turnstile-response']) ?? str(raw['h-captcha-response']),
  };
  return {
    formId: input.form.id,
    fields: values,
    ip: input.ip,
    userAgent: input.userAgent,
    receivedAt,
    token: str(raw._token),
    altcha: str(raw.altcha),
    honeypot: Object.fromEntries(honeypotFields.map((name) => [name, raw[name] === undefined ? undefined : String(raw[name])])),
    captcha,
    lang: input.lang,
    headers: input.headers ?? {},
  };
}
