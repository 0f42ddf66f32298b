// Issue 10, class 2 (one mailbox, many keys), for the suppression list: one entry covers every spelling
// of the mailbox, whichever caller adds or checks it (link, bounces, the owner's CLI, the intake), and
// migration 006 re-keys and merges the entries stored under the earlier keys.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as m006 from '../store/migrations/006_canonical_suppressions.js';
import { anyPayload, mailboxName, recipientDomain, variantOf, variantOpts } from '../../test/support/addresses.js';
import { dbUnavailable, useMigratedDatabase } from '../../test/support/db.js';
import { normalizeAddress } from './address.js';
import { isSuppressed, listSuppressions, suppress, unsuppress } from './suppression.js';

describe.skipIf(dbUnavailable())('suppression keys on the canonical mailbox', () => {
  const fresh = useMigratedDatabase();

  it('suppressing one spelling covers every other; removing any spelling lifts it; other mailboxes stay unaffected', async () => {
    await fc.assert(
      fc.asyncProperty(
        mailboxName,
        mailboxName,
        recipientDomain,
        fc.array(variantOpts(anyPayload), { minLength: 2, maxLength: 5 }),
        fc.constantFrom('owner' as const, 'link' as const, 'bounce' as const, 'complaint' as const),
        async (name, other, domain, opts, reason) => {
          const k = fresh.db.kysely;
          await k.deleteFrom('suppressions').execute();
          const variants = opts.map((o) => variantOf(name, domain, o).address);
          expect(await suppress(k, variants[0]!, reason, 1000)).toBe(true);
          // A second spelling is the same entry: nothing new is added.
          expect(await suppress(k, variants[1]!, reason, 2000)).toBe(false);
          expect(await listSuppressions(k)).toHaveLength(1);
          for (const v of [...variants, `${name}@${domain}`]) expect(await isSuppressed(k, v), v).toBe(true);
          if (normalizeAddress(`${other}@${domain}`) !== normalizeAddress(`${name}@${domain}`)) expect(await isSuppressed(k, `${other}@${domain}`)).toBe(false);
          expect(await unsuppress(k, variants[variants.length - 1]!)).toBe(true);
          for (const v of variants) expect(await isSuppressed(k, v), v).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  it('fixed case: suppressing ceo+1@company.example blocks ceo+2, CEO+3 and ceo@', async () => {
    const k = fresh.db.kysely;
    await k.deleteFrom('suppressions').execute();
    await suppress(k, 'ceo+1@company.example', 'link', 1);
    for (const a of ['ceo+2@company.example', 'CEO+3@Company.Example', 'ceo@company.example', 'ｃｅｏ＋４＠ｃｏｍｐａｎｙ．ｅｘａｍｐｌｅ']) expect(await isSuppressed(k, a), a).toBe(true);
    expect(await isSuppressed(k, 'cfo@company.example')).toBe(false);
    expect(await isSuppressed(k, 'ceo@company2.example')).toBe(false);
  });

  it('migration 006 re-keys stored entries and merges those that name one mailbox, keeping the oldest', async () => {
    const k = fresh.db.kysely;
    await k.deleteFrom('suppressions').execute();
    await k.deleteFrom('relay_charges').execute();
    // As 183fc51 stored them: lower-cased, '+tag' kept outside a few provider domains.
    await k
      .insertInto('suppressions')
      .values([
        { address: 'ceo+2@company.example', reason: 'link', note: '', created_at: 200 },
        { address: 'ceo+1@company.example', reason: 'bounce', note: 'user unknown', created_at: 100 },
        { address: 'ceo@company.example', reason: 'owner', note: 'asked by phone', created_at: 300 },
        { address: 'plain@other.example', reason: 'owner', note: '', created_at: 50 },
        { address: 'x@u.fastmail.com', reason: 'complaint', note: '', created_at: 60 },
        { address: 'ivan@ya.ru', reason: 'link', note: '', created_at: 70 },
      ])
      .execute();
    await k
      .insertInto('relay_charges')
      .values([
        { key: 'relay:address:86400:ceo%2B1%40company.example', outbox_id: 'm_1', at: 1 },
        { key: 'relay:address:86400:ceo%2B2%40company.example', outbox_id: 'm_2', at: 2 },
        { key: 'relay:domain:3600:u.fastmail.com', outbox_id: 'm_3', at: 3 },
        { key: 'relay:form:contact:hour', outbox_id: 'm_1', at: 1 },
      ])
      .execute();
    await m006.up(k);
    const rows = await k.selectFrom('suppressions').selectAll().orderBy('address').execute();
    expect(rows.map((r) => [r.address, r.reason, Number(r.created_at)])).toEqual([
      ['ceo@company.example', 'bounce', 100],
      ['ivan@yandex.ru', 'link', 70],
      ['plain@other.example', 'owner', 50],
      ['u@fastmail.com', 'complaint', 60],
    ]);
    expect(rows[0]!.note).toContain('user unknown');
    expect(rows[0]!.note).toContain('ceo+2@company.example');
    expect(await isSuppressed(k, 'ceo+9@company.example')).toBe(true);
    const charges = await k.selectFrom('relay_charges').select(['key', 'outbox_id']).orderBy('outbox_id').orderBy('key').execute();
    expect(charges).toEqual([
      { key: 'relay:address:86400:ceo%40company.example', outbox_id: 'm_1' },
      { key: 'relay:form:contact:hour', outbox_id: 'm_1' },
      { key: 'relay:address:86400:ceo%40company.example', outbox_id: 'm_2' },
      { key: 'relay:domain:3600:fastmail.com', outbox_id: 'm_3' },
    ]);
    // Running it again changes nothing.
    await m006.up(k);
    expect(await k.selectFrom('suppressions').select('address').orderBy('address').execute()).toHaveLength(4);
  });
});
