// Bounces that come back to the owner's mailbox, acted on: each bounced recipient of a mail our outbox
// sent becomes an event (the breaker counts them), a hard bounce or a complaint suppresses the address,
// soft bounces suppress it after `bounces.softLimit`. Mail Formwarden never sent is only counted.
// A bounce delivered to a VERP address (the SMTP receiver) names its outbox row; others are matched by
// the returned Message-ID.
import type { Kysely } from 'kysely';
import { suppress } from '../relay/suppression.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/id.js';
import { readMessageHeaders } from './origin/headers.js';
import { parseBounce } from './parse/index.js';
import type { Verp } from './verp.js';
import type { CursorStore, ImapCursor } from './imap/index.js';

export interface IngestResult {
  ours: number;
  foreign: number;
  suppressed: string[];
}

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
    for (const a of v.match(/[^\s<>"',;:()]+@[A-Za-z0-9.-]+/g) ?? []) {
      const id = verp.verify(a);
      if (id) return id;
    }
  }
  return null;
}

export async function ingestBounce(db: Kysely<Database>, clock: Clock, raw: Buffer, softLimit: number, opts: IngestOptions = {}): Promise<IngestResult> {
  const parsed = parseBounce(raw);
  const result: IngestResult = { ours: 0, foreign: 0, suppressed: [] };
  if (parsed.kind === 'vacation' || parsed.kind === 'not-a-bounce') return result;
  const now = clock.now().getTime();
  const columns = ['id', 'form_id', 'submission_id', 'to_addr', 'kind'] as const;
  const outboxId = opts.outboxId ?? (opts.verp ? verpFromHeaders(raw, opts.verp) : null);
  const verp = outboxId ? await db.selectFrom('outbox').select(columns).where('id', '=', outboxId).executeTakeFirst() : undefined;
  for (const b of parsed.bounces) {
    if (b.reason === 'vacation' || b.reason === 'delivered') continue;
    const messageId = b.originalMessageId || parsed.original?.messageId || '';
    const mail =
      verp ??
      (messageId ? await db.selectFrom('outbox').select(columns).where('message_id', '=', `<${messageId.replace(/^<|>$/g, '')}>`).executeTakeFirst() : undefined);
    if (!mail) {
      result.foreign++;
      continue;
    }
    result.ours++;
    // With VERP the row says who the mail went to; a reported recipient may be a forwarding target.
    const address = verp ? mail.to_addr : b.recipient || mail.to_addr;
    const complaint = b.reason === 'feedback';
    const kind = complaint ? 'complaint' : 'bounce';
    // One mail fails once: at most one soft and one hard bounce (and one complaint) per outbox row, so
    // repeated or replayed DSNs (anyone who got the mail knows its VERP address) cannot inflate the counts.
    const seen = await db.selectFrom('events').select('detail').where('kind', '=', kind).where('form_id', mail.form_id === null ? 'is' : '=', mail.form_id).where('detail', 'like', `%"outbox":"${mail.id}"%`).execute();
    const same = (detail: string) => {
      const d = JSON.parse(detail) as { outbox?: string; hard?: boolean };
      return d.outbox === mail.id && d.hard === b.hard;
    };
    if (seen.some((e) => same(e.detail))) {
      if (verp) break;
      continue;
    }
    await db
      .insertInto('events')
      .values({
        id: newId('e', now),
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
          matched: verp ? 'verp' : 'message-id',
          ...(verp && b.recipient && b.recipient !== address ? { reported: b.recipient } : {}),
        }),
      })
      .execute();
    let suppressIt = complaint || b.hard;
    if (!suppressIt) {
      const soft = await db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'bounce').where('address', '=', address).executeTakeFirstOrThrow();
      suppressIt = Number(soft.n) >= softLimit;
    }
    if (suppressIt && (await suppress(db, address, complaint ? 'complaint' : 'bounce', now, `${b.reason} ${b.status}`.trim()))) result.suppressed.push(address);
    // One envelope sender, one recipient: a DSN listing it twice counts once.
    if (verp) break;
  }
  return result;
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
