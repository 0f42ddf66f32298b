// Issue #12, item 4: a short receipt number people can read aloud (K7QD-3M9X: Crockford base32, 4-4),
// unique per instance (a unique index; a number already taken is drawn again), shown in the mails.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDbUnavailable } from '../store/db.js';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { acceptSubmission, type IntakeDeps } from './accept.js';
import { newReceipt, parseReceipt, RECEIPT_PATTERN } from './receipt.js';

describe('receipt numbers', () => {
  it('property: 8 Crockford characters grouped 4-4 (no I, L, O, U); read back the way people type them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 5, maxLength: 5 }), fc.boolean(), fc.boolean(), (bytes, lower, dropHyphen) => {
        const r = newReceipt(bytes);
        expect(r).toMatch(RECEIPT_PATTERN);
        expect(r).not.toMatch(/[ILOU]/);
        let typed = lower ? r.toLowerCase() : r;
        if (dropHyphen) typed = typed.replace('-', ' ');
        expect(parseReceipt(typed)).toBe(r);
      }),
    );
    // The 40 bits read as one big-endian number, 5 bits a character (the BigInt reading, as first written).
    const reference = (bytes: Uint8Array) => {
      const bits = bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
      const chars = Array.from({ length: 8 }, (_, i) => '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[Number((bits >> BigInt((7 - i) * 5)) & 31n)]).join('');
      return `${chars.slice(0, 4)}-${chars.slice(4)}`;
    };
    fc.assert(fc.property(fc.uint8Array({ minLength: 5, maxLength: 5 }), (bytes) => {
      expect(newReceipt(bytes)).toBe(reference(bytes));
    }), { numRuns: 2000 });
    // 40 bits: distinct bytes give distinct numbers.
    expect(newReceipt(new Uint8Array([0, 0, 0, 0, 0]))).toBe('0000-0000');
    expect(newReceipt(new Uint8Array([255, 255, 255, 255, 255]))).toBe('ZZZZ-ZZZZ');
    expect(parseReceipt('k7qd-3m9x')).toBe('K7QD-3M9X');
    expect(parseReceipt('KOQD-3M9L')).toBe('K0QD-3M91');
    expect(parseReceipt('K7QD-3M9')).toBeNull();
    expect(parseReceipt('K7QD-3M9U')).toBeNull();
  });
});

describe.skipIf(dbUnavailable())('receipt numbers in the database', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false });
  });
  afterAll(async () => {
    await t?.close();
  });
  const form = () => t.instance.config.forms[0]!;
  const deps = (draws: string[]): IntakeDeps => ({
    config: t.instance.config,
    db: t.instance.db,
    clock: { now: () => new Date() },
    fromAddress: 'info@example.jp',
    newReceipt: () => draws.shift() ?? newReceipt(),
  });
  const input = (n: number) => ({ form: form(), raw: { name: '山田', email: `r${n}@example.jp`, message: 'こんにちは' }, ip: '127.0.0.1', userAgent: 'test', lang: 'ja' as const });

  it('a number already taken is drawn again: every stored submission has its own, and its mails carry it', async () => {
    const a = await acceptSubmission(deps(['AAAA-AAAA']), input(1));
    const b = await acceptSubmission(deps(['AAAA-AAAA', 'AAAA-AAAA', 'BBBB-BBBB']), input(2));
    expect(a).toMatchObject({ kind: 'accepted', receipt: 'AAAA-AAAA' });
    expect(b).toMatchObject({ kind: 'accepted', receipt: 'BBBB-BBBB' });
    const k = t.instance.db.kysely;
    const mails = await k.selectFrom('outbox').select(['kind', 'subject', 'body', 'submission_id']).where('submission_id', '=', b.kind === 'accepted' ? b.id : '').execute();
    // BASE_FORM: the auto-reply body is "Receipt {{receipt_id}}".
    expect(mails.find((m) => m.kind === 'autoreply')?.body).toBe('Receipt BBBB-BBBB');
  });

  it('the unique index refuses a duplicate, and that failure counts as "try again" (503), not as a crash', async () => {
    const k = t.instance.db.kysely;
    const row = await k.selectFrom('submissions').selectAll().where('receipt', '=', 'AAAA-AAAA').executeTakeFirstOrThrow();
    let err: unknown;
    try {
      await k.insertInto('submissions').values({ ...row, id: 's_duplicatereceipt0000000' }).execute();
    } catch (e) {
      err = e;
    }
    expect(err).toBeDefined();
    expect(isDbUnavailable(err)).toBe(true);
  });
});
