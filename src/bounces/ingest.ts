// Bounces that come back to the owner's mailbox, acted on: each bounced recipient of a mail our outbox
// sent becomes an event (the breaker counts them), a hard bounce or a complaint suppresses the address,
// soft bounces suppress it after `bounces.softLimit`. Mail Formwarden never sent is only counted.
import type { Kysely } from 'kysely';
import { suppress } from '../relay/suppression.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/id.js';
import { parseBounce } from './parse/index.js';
import type { CursorStore, ImapCursor } from './imap/index.js';

export interface IngestResult {
  ours: number;
  foreign: number;
  suppressed: string[];
}

export async function ingestBounce(db: Kysely<Database>, clock: Clock, raw: Buffer, softLimit: number): Promise<IngestResult> {
  const parsed = parseBounce(raw);
  const result: IngestResult = { ours: 0, foreign: 0, suppressed: [] };
  if (parsed.kind === 'vacation' || parsed.kind === 'not-a-bounce') return result;
  const now = clock.now().getTime();
  for (const b of parsed.bounces) {
    if (b.reason === 'vacation' || b.reason === 'delivered') continue;
    const messageId = b.originalMessageId || parsed.original?.messageId || '';
    const mail = messageId
      ? await db.selectFrom('outbox').select(['id', 'form_id', 'submission_id', 'to_addr', 'kind']).where('message_id', '=', `<${messageId.replace(/^<|>$/g, '')}>`).executeTakeFirst()
      : undefined;
    if (!mail) {
      result.foreign++;
      continue;
    }
    result.ours++;
    const address = b.recipient || mail.to_addr;
    const complaint = b.reason === 'feedback';
    await db
      .insertInto('events')
      .values({
        id: newId('e', now),
        kind: complaint ? 'complaint' : 'bounce',
        form_id: mail.form_id,
        address,
        at: now,
        detail: JSON.stringify({ outbox: mail.id, submission: mail.submission_id, kind: mail.kind, reason: b.reason, status: b.status, hard: b.hard }),
      })
      .execute();
    let suppressIt = complaint || b.hard;
    if (!suppressIt) {
      const soft = await db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'bounce').where('address', '=', address).executeTakeFirstOrThrow();
      suppressIt = Number(soft.n) >= softLimit;
    }
    if (suppressIt && (await suppress(db, address, complaint ? 'complaint' : 'bounce', now, `${b.reason} ${b.status}`.trim()))) result.suppressed.push(address);
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
