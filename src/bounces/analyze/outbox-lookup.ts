// `analyze --config`: the outbox of the configured database decides which bounces are Formwarden's
// (origin "ours", with the form, submission and kind of mail), by the returned Message-ID or a VERP token.
import type { Kysely } from 'kysely';
import type { Config } from '../../config/schema.js';
import type { Database } from '../../store/schema.js';
import type { OriginContext, OutboxRef } from '../origin/index.js';
import { Verp } from '../verp.js';

/** The VERP checker of a configured instance, with the key its database keeps (null before the first `serve`). */
export async function storedVerp(db: Kysely<Database>, config: Config): Promise<Verp | null> {
  const v = config.bounces.verp;
  if (!v) return null;
  const row = await db.selectFrom('secrets').select('value').where('name', '=', 'verpKey').executeTakeFirst();
  return row ? new Verp({ ...v, key: row.value }) : null;
}

export function outboxLookup(db: Kysely<Database>, verp: Verp | null): NonNullable<OriginContext['lookup']> {
  return async (q) => {
    const ids: string[] = [];
    if (q.verpToken && verp) {
      const id = verp.verify(`${verp.prefix}+${q.verpToken}@${verp.domain}`);
      if (id) ids.push(id);
    }
    const base = db.selectFrom('outbox').select(['id', 'form_id', 'submission_id', 'kind']);
    let row = ids.length ? await base.where('id', '=', ids[0]!).executeTakeFirst() : undefined;
    if (!row && q.messageId) row = await base.where('message_id', '=', `<${q.messageId.replace(/^<|>$/g, '')}>`).executeTakeFirst();
    return row ? ({ outboxId: row.id, formId: row.form_id, submissionId: row.submission_id, kind: row.kind } satisfies OutboxRef) : null;
  };
}
