// Bounces that come back to the owner's mailbox or the VERP receiver, acted on. Only a parseable delivery
// report (RFC 3464 DSN with a failed recipient) or complaint report (ARF) counts; anything else sent to a
// VERP address is recorded as ignored and counts nothing. A report names one outbox row (by its VERP
// address, else by the returned Message-ID), and acts only on that row's recipient, never on the address
// the report claims: anyone who received one of our mails can forge its bounce. One row yields at most
// one signal (the breaker counts them), whatever mix of soft, hard and complaint reports arrives and how
// often. A hard bounce or a complaint suppresses the row's recipient; soft ones after `bounces.softLimit`
// rows. A report that names no mail of ours is only counted.
import type { Kysely } from 'kysely';
import { suppress } from '../relay/suppression.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { readMessageHeaders } from './origin/headers.js';
import { type BouncedRecipient, type ParsedBounce } from './parse/index.js';
import { parseBounceInWorker } from './parse/pool.js';
import type { Verp } from './verp.js';
import type { CursorStore, ImapCursor } from './imap/index.js';

export interface IngestResult {
  /** Failure or complaint records matched to a mail of ours (counted or not). */
  ours: number;
  /** Rows that got their one signal from this message (0 or 1 per row). */
  counted: number;
  /** Failure or complaint records that match no mail of ours. */
  foreign: number;
  /** Addresses newly suppressed: only ever the matched rows' recipients. */
  suppressed: string[];
  /** What counted nothing, and why (not a report, no failure in it, an auto-reply, already counted). */
  ignored: { outbox: string | null; why: IgnoredWhy }[];
}

export type IgnoredWhy = 'not-a-report' | 'no-failure' | 'auto-reply' | 'already-counted';

export interface IngestOptions {
  /** The outbox row named by a verified VERP address the bounce was delivered to. */
  outboxId?: string;
  /** Look for a VERP address in the headers (Delivered-To, X-Original-To, To, the original's Return-Path). */
  verp?: Verp | null;
}

/** The outbox id of a valid VERP address the bounce's headers name (a DSN forwarded to a mailbox). */
export function verpFromHeaders(raw: Buffer, verp: Verp): string | null {
  const h = readMessageHeaders(raw);
  const values = [
    ...h.outer.filter(([n]) => n === 'delivered-to' || n === 'x-original-to' || n === 'to' || n === 'envelope-to').map(([, v]) => v),
    ...(h.original ?? []).filter(([n]) => n === 'return-path').map(([, v]) => v),
  ];
  for (const v of values) {
    // Tried only where a token starts (the lookbehind), so a long token without "@" is scanned once.
    for (const a of v.match(/(?<![^\s<>"',;:()])[^\s<>"',;:()]+@[A-Za-z0-9.-]+/g) ?? []) {
      const id = verp.verify(a);
      if (id) return id;
    }
  }
  return null;
}

export async function ingestBounce(db: Kysely<Database>, clock: Clock, raw: Buffer, softLimit: number, opts: IngestOptions = {}): Promise<IngestResult> {
  // Off the event loop, within the parse budget (bytes, lines, parts, depth, time): over it, unparseable.
  const parsed = await parseBounceInWorker(raw);
  return actOnReport(db, clock, raw, parsed, softLimit, opts);
}

type Row = { id: string; form_id: string | null; submission_id: string | null; to_addr: string; kind: string };
const COLUMNS = ['id', 'form_id', 'submission_id', 'to_addr', 'kind'] as const;

/** The records that are a signal: failed recipients of a DSN, complaints of an ARF report. Nothing else. */
export function reportSignals(parsed: ParsedBounce): BouncedRecipient[] {
  if (parsed.kind === 'arf') return parsed.bounces.filter((b) => b.reason === 'feedback');
  if (parsed.kind !== 'dsn') return [];
  return parsed.bounces.filter(
    (b) => b.reason !== 'delivered' && b.reason !== 'vacation' && b.reason !== 'feedback' && (b.action === 'failed' || (b.action === '' && /^[45]\./.test(b.status))),
  );
}

/** Complaint first, then a hard bounce, then a soft one: the one signal a row gets from this message. */
const strength = (b: BouncedRecipient) => (b.reason === 'feedback' ? 2 : b.hard ? 1 : 0);

async function actOnReport(db: Kysely<Database>, clock: Clock, raw: Buffer, parsed: ParsedBounce, softLimit: number, opts: IngestOptions): Promise<IngestResult> {
  const result: IngestResult = { ours: 0, counted: 0, foreign: 0, suppressed: [], ignored: [] };
  const now = clock.now().getTime();
  const outboxId = opts.outboxId ?? (opts.verp ? verpFromHeaders(raw, opts.verp) : null);
  const verp = outboxId ? await db.selectFrom('outbox').select(COLUMNS).where('id', '=', outboxId).executeTakeFirst() : undefined;
  const signals = reportSignals(parsed);
  if (!signals.length) {
    const why: IgnoredWhy = parsed.kind === 'vacation' || parsed.kind === 'challenge' ? 'auto-reply' : parsed.kind === 'dsn' || parsed.kind === 'arf' ? 'no-failure' : 'not-a-report';
    await ignore(db, now, verp ?? null, why, parsed, result);
    return result;
  }
  // Group the records by the mail they name: with VERP, the one row the envelope names; otherwise each
  // record's returned Message-ID.
  const byRow = new Map<string, { mail: Row; records: BouncedRecipient[] }>();
  for (const b of signals) {
    const messageId = b.originalMessageId || parsed.original?.messageId || '';
    const mail =
      verp ??
      (messageId ? await db.selectFrom('outbox').select(COLUMNS).where('message_id', '=', `<${messageId.replace(/^<|>$/g, '')}>`).executeTakeFirst() : undefined);
    if (!mail) {
      result.foreign++;
      continue;
    }
    result.ours++;
    const g = byRow.get(mail.id) ?? { mail, records: [] };
    g.records.push(b);
    byRow.set(mail.id, g);
  }
  for (const { mail, records } of byRow.values()) {
    const b = records.reduce((x, y) => (strength(y) > strength(x) ? y : x));
    await signal(db, now, mail, b, records, verp ? 'verp' : 'message-id', softLimit, parsed, result);
  }
  return result;
}

/**
 * The row's one signal (an event whose id is derived from the row, so concurrent or replayed reports
 * cannot add a second), and the suppression of the row's recipient: never the address the report claims.
 */
async function signal(db: Kysely<Database>, now: number, mail: Row, b: BouncedRecipient, records: BouncedRecipient[], matched: 'verp' | 'message-id', softLimit: number, parsed: ParsedBounce, result: IngestResult): Promise<void> {
  const address = mail.to_addr;
  const complaint = b.reason === 'feedback';
  const kind = complaint ? 'complaint' : 'bounce';
  // The report's addresses besides the row's: the address it says was sent to and the final (forwarded) one.
  const reported = [...new Set(records.flatMap((r) => [r.sentTo, r.finalRecipient, r.recipient]).filter((r) => r && r.toLowerCase() !== address.toLowerCase()))].slice(0, 5);
  const inserted = await db
    .insertInto('events')
    .values({
      id: `sig_${mail.id}`,
      kind,
      form_id: mail.form_id,
      address,
      at: now,
      detail: JSON.stringify({
        outbox: mail.id,
        submission: mail.submission_id,
        kind: mail.kind,
        reason: b.reason,
        status: b.status,
        hard: b.hard,
        matched,
        // What the report claimed, for the record only: a forwarding target, or a forger's choice.
        ...(reported.length ? { reported: reported.join(', ').slice(0, 320) } : {}),
      }),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  const counted = Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
  if (counted) result.counted++;
  else await ignore(db, now, mail, 'already-counted', parsed, result);
  // A hard bounce or complaint for a row that already gave a soft signal still suppresses its recipient.
  let suppressIt = complaint || b.hard;
  if (!suppressIt && counted) {
    const soft = await db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'bounce').where('address', '=', address).executeTakeFirstOrThrow();
    suppressIt = Number(soft.n) >= softLimit;
  }
  if (suppressIt && (await suppress(db, address, complaint ? 'complaint' : 'bounce', now, `${b.reason} ${b.status}`.trim()))) result.suppressed.push(address);
}

/** Recorded once per row and reason (so replays do not grow the table), visible in the events. */
async function ignore(db: Kysely<Database>, now: number, mail: Row | null, why: IgnoredWhy, parsed: ParsedBounce, result: IngestResult): Promise<void> {
  result.ignored.push({ outbox: mail?.id ?? null, why });
  if (!mail) return;
  await db
    .insertInto('events')
    .values({
      id: `ign_${mail.id}_${why}`,
      kind: 'bounce_ignored',
      form_id: mail.form_id,
      address: mail.to_addr,
      at: now,
      detail: JSON.stringify({ outbox: mail.id, submission: mail.submission_id, kind: mail.kind, why, parsed: parsed.kind }),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** The IMAP cursor kept in the database, so a restart reads nothing twice. */
export class DbCursorStore implements CursorStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly key: string,
  ) {}
  async load(): Promise<ImapCursor | null> {
    const row = await this.db.selectFrom('kv').select('value').where('key', '=', this.key).executeTakeFirst();
    return row ? (JSON.parse(row.value) as ImapCursor) : null;
  }
  async save(c: ImapCursor): Promise<void> {
    const value = JSON.stringify(c);
    const now = Date.now();
    await this.db.insertInto('kv').values({ key: this.key, value, updated_at: now }).onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now })).execute();
  }
}
