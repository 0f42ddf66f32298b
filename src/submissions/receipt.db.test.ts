// Issue #12, item 4: a short receipt number people can read aloud (K7QD-3M9X: Crockford base32, 4-4), unique
// per instance, shown in the mails. Issue #14: unique by construction (a keyed permutation of a sequence number
// handed out in blocks), so the write indexes a growing sequence instead of a random key.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDbUnavailable, openDb } from '../store/db.js';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { acceptSubmission, type IntakeDeps } from './accept.js';
import { getSubmissionDetail } from './detail.js';
import { planSubmissionErasure } from './delete.js';
import { formatReceipt, parseReceipt, RECEIPT_PATTERN, RECEIPT_SPACE, ReceiptCipher, ReceiptNumbers, receiptsFor, receiptValue, type Receipt } from './receipt.js';

const seqArb = fc.integer({ min: 1, max: RECEIPT_SPACE - 1 });

describe('receipt numbers', () => {
  it('property: 8 Crockford characters grouped 4-4 (no I, L, O, U) for every 40-bit number; read back the way people type them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: RECEIPT_SPACE - 1 }), fc.boolean(), fc.constantFrom('-', ' ', '', 'ー', '－', '‐', '−', '　'), fc.boolean(), (n, lower, hyphen, fullWidth) => {
        const r = formatReceipt(n);
        expect(r).toMatch(RECEIPT_PATTERN);
        expect(r).not.toMatch(/[ILOU]/);
        expect(receiptValue(r)).toBe(n);
        // As typed: either case, any dash or none, half- or full-width (a Japanese input method's ＫＱ７Ｄ).
        let typed = (lower ? r.toLowerCase() : r).replace('-', hyphen);
        if (fullWidth) typed = typed.replace(/[0-9A-Za-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
        expect(parseReceipt(typed)).toBe(r);
      }),
      { numRuns: 2000 },
    );
    // The 40 bits read as one big-endian number, 5 bits a character (the BigInt reading).
    const reference = (n: number) => {
      const bits = BigInt(n);
      const chars = Array.from({ length: 8 }, (_, i) => '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[Number((bits >> BigInt((7 - i) * 5)) & 31n)]).join('');
      return `${chars.slice(0, 4)}-${chars.slice(4)}`;
    };
    fc.assert(fc.property(fc.integer({ min: 0, max: RECEIPT_SPACE - 1 }), (n) => {
      expect(formatReceipt(n)).toBe(reference(n));
    }), { numRuns: 2000 });
    expect(formatReceipt(0)).toBe('0000-0000');
    expect(formatReceipt(RECEIPT_SPACE - 1)).toBe('ZZZZ-ZZZZ');
    expect(parseReceipt('k7qd-3m9x')).toBe('K7QD-3M9X');
    expect(parseReceipt('KOQD-3M9L')).toBe('K0QD-3M91');
    expect(parseReceipt('K7QD-3M9')).toBeNull();
    expect(parseReceipt('K7QD-3M9U')).toBeNull();
  });

  it('property: the permutation is one-to-one (decode undoes encode; a batch encodes as one at a time) and depends on the key', () => {
    const a = new ReceiptCipher('key-a');
    const b = new ReceiptCipher('key-b');
    fc.assert(
      fc.property(fc.uniqueArray(seqArb, { minLength: 1, maxLength: 40 }), (seqs) => {
        const receipts = a.encode(seqs);
        expect(new Set(receipts).size).toBe(seqs.length);
        receipts.forEach((r, i) => {
          expect(r).toMatch(RECEIPT_PATTERN);
          expect(a.decode(r)).toBe(seqs[i]);
          expect(a.encode([seqs[i]!])[0]).toBe(r);
        });
      }),
      { numRuns: 300 },
    );
    // Another key, other numbers (of 1,000 consecutive sequence numbers, hardly any the same).
    const seqs = Array.from({ length: 1000 }, (_, i) => i + 1);
    const [ra, rb] = [a.encode(seqs), b.encode(seqs)];
    expect(ra.filter((r, i) => r === rb[i]).length).toBeLessThan(5);
    expect(() => a.encode([0])).toThrow(RangeError);
    expect(() => a.encode([RECEIPT_SPACE])).toThrow(RangeError);
  });

  it('consecutive submissions do not get numbers that tell how many came between: they spread over the whole space', () => {
    const c = new ReceiptCipher('spread');
    const values = c.encode(Array.from({ length: 4096 }, (_, i) => 5000 + i)).map(receiptValue);
    // Neither increasing nor bunched: each eighth of the 40-bit space holds about 512 of them.
    let increasing = 0;
    for (let i = 1; i < values.length; i++) if (values[i]! > values[i - 1]!) increasing++;
    expect(increasing).toBeGreaterThan(1500);
    expect(increasing).toBeLessThan(2600);
    const eighths = Array.from({ length: 8 }, (_, k) => values.filter((v) => Math.floor(v / (RECEIPT_SPACE / 8)) === k).length);
    for (const n of eighths) expect(n).toBeGreaterThan(400);
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
  const far = (n: number): Receipt => ({ seq: 2 ** 39 + n, receipt: formatReceipt(2 ** 39 + n) });
  const deps = (draws: Receipt[]): IntakeDeps => ({
    config: t.instance.config,
    db: t.instance.db,
    clock: { now: () => new Date() },
    fromAddress: 'info@example.jp',
    newReceipt: async () => draws.shift() ?? receiptsFor(t.instance.db.kysely).next(),
  });
  const input = (n: number) => ({ form: form(), raw: { name: '山田', email: `r${n}@example.jp`, message: 'こんにちは' }, ip: '127.0.0.1', userAgent: 'test', lang: 'ja' as const });

  it('a number already taken is drawn again: every stored submission has its own, and its mails carry it', async () => {
    const a = await acceptSubmission(deps([far(1)]), input(1));
    const b = await acceptSubmission(deps([far(1), far(1), far(2)]), input(2));
    expect(a).toMatchObject({ kind: 'accepted', receipt: far(1).receipt });
    expect(b).toMatchObject({ kind: 'accepted', receipt: far(2).receipt });
    const k = t.instance.db.kysely;
    const mails = await k.selectFrom('outbox').select(['kind', 'subject', 'body', 'submission_id']).where('submission_id', '=', b.kind === 'accepted' ? b.id : '').execute();
    // BASE_FORM: the auto-reply body is "Receipt {{receipt_id}}".
    expect(mails.find((m) => m.kind === 'autoreply')?.body).toBe(`Receipt ${far(2).receipt}`);
  });

  it('the unique index refuses a duplicate sequence number, and that failure counts as "try again" (503), not as a crash', async () => {
    const k = t.instance.db.kysely;
    const row = await k.selectFrom('submissions').selectAll().where('receipt_seq', '=', far(1).seq).executeTakeFirstOrThrow();
    let err: unknown;
    try {
      await k.insertInto('submissions').values({ ...row, id: 's_duplicatereceipt0000000', receipt: 'AAAA-AAAA' }).execute();
    } catch (e) {
      err = e;
    }
    expect(err).toBeDefined();
    expect(isDbUnavailable(err)).toBe(true);
  });

  it('a typed receipt finds its submission (the permutation undone): any case, no hyphen; console and erasure alike', async () => {
    const r = await acceptSubmission(deps([]), input(3));
    if (r.kind !== 'accepted') throw new Error(r.kind);
    const stored = await t.instance.db.kysely.selectFrom('submissions').select(['receipt', 'receipt_seq']).where('id', '=', r.id).executeTakeFirstOrThrow();
    expect(stored.receipt).toBe(r.receipt);
    expect((await receiptsFor(t.instance.db.kysely).cipher()).decode(r.receipt)).toBe(Number(stored.receipt_seq));
    const typed = r.receipt.toLowerCase().replace('-', '');
    expect((await getSubmissionDetail(t.instance.db.kysely, t.instance.config, typed, 'en'))?.id).toBe(r.id);
    expect((await planSubmissionErasure(t.instance.db.kysely, typed))?.submissions.map((s) => s.id)).toEqual([r.id]);
  });

  it('property: allocators sharing the database (two handles, as two processes) never hand out one number twice', async () => {
    const second = openDb(t.instance.config.database.url);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 7 }), async (order, blockSize) => {
          const one = new ReceiptNumbers(t.instance.db.kysely, blockSize);
          const two = new ReceiptNumbers(second.kysely, blockSize);
          const got = await Promise.all(order.map((first) => (first ? one : two).next()));
          expect(new Set(got.map((g) => g.seq)).size).toBe(got.length);
          expect(new Set(got.map((g) => g.receipt)).size).toBe(got.length);
          // And none of a number already stored.
          const clash = await t.instance.db.kysely.selectFrom('submissions').select('id').where('receipt_seq', 'in', got.map((g) => g.seq)).execute();
          expect(clash).toEqual([]);
        }),
        { numRuns: 25 },
      );
    } finally {
      await second.close();
    }
  });

  it('rows from before the sequence keep their random numbers: found by them, and never given to a new submission', async () => {
    const k = t.instance.db.kysely;
    const cipher = await receiptsFor(k).cipher();
    // The next block a new allocator reserves starts at the kv row's value: make a legacy row hold its first number.
    const next = Number((await k.selectFrom('kv').select('value').where('key', '=', 'receipt_seq').executeTakeFirstOrThrow()).value);
    const [legacyReceipt] = cipher.encode([next]);
    const template = await k.selectFrom('submissions').selectAll().where('receipt_seq', 'is not', null).executeTakeFirstOrThrow();
    await k.insertInto('submissions').values({ ...template, id: 's_legacyreceipt00000000000', receipt: legacyReceipt!, receipt_seq: null }).execute();
    const fresh = new ReceiptNumbers(k, 4);
    const first = await fresh.next();
    expect(first.receipt).not.toBe(legacyReceipt);
    expect(first.seq).toBe(next + 1);
    expect((await getSubmissionDetail(k, t.instance.config, legacyReceipt!, 'en'))?.id).toBe('s_legacyreceipt00000000000');
  });
});
