// Receipt numbers: 8 Crockford base32 characters grouped 4-4 ("K7QD-3M9X"), a 40-bit number. Crockford's
// alphabet has no I, L, O or U, so a number read aloud or typed back is not mistaken; a lower-case or
// ungrouped copy, and I/L for 1 and O for 0, normalise to the same number.
//
// Unique by construction: the n-th submission's number is a keyed permutation of n (a four-round Feistel
// network on two 20-bit halves, AES under the instance's own key as the round function), so two sequence
// numbers never give one receipt, and the numbers look random: they do not tell a visitor how many inquiries
// came before. The sequence is stored (submissions.receipt_seq) and indexed in its own growing order, so a
// write adds to the end of that index instead of a random page of it (migration 016); a receipt typed back is
// turned into its sequence number to be found. The sequence comes in blocks reserved in the database
// (ReceiptNumbers), so several processes on one database never share a number.
import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { ensureSecretIn } from '../store/secrets.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const RECEIPT_PATTERN = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;
const HALF = 2 ** 20;
/** Sequence numbers a receipt can stand for: 1 .. 2^40 - 1. */
export const RECEIPT_SPACE = 2 ** 40;

/** A 40-bit number as a receipt (5 bits a character, most significant first). */
export function formatReceipt(value: number): string {
  let out = '';
  for (let i = 7; i >= 0; i--) {
    out += CROCKFORD[Math.floor(value / 2 ** (i * 5)) % 32];
    if (i === 4) out += '-';
  }
  return out;
}

/** The 40-bit number of a well-formed receipt (RECEIPT_PATTERN). */
export function receiptValue(receipt: string): number {
  let v = 0;
  for (const c of receipt.replace('-', '')) v = v * 32 + CROCKFORD.indexOf(c);
  return v;
}

/** What a Japanese input method may type for the hyphen: dashes, the minus sign, the long-vowel mark (ー, ｰ). */
const DASHES = /[\s\-\u2010-\u2015\u2212\u30fc\uff70]/g;

/**
 * A receipt number as a person typed it, or null: case, spaces and hyphens do not matter, nor full-width forms
 * (ＫＱ７Ｄ－３Ｍ９Ｘ from a Japanese input method); I/L read as 1, O as 0.
 */
export function parseReceipt(input: string): string | null {
  if (input.length > 64) return null;
  const plain = input.normalize('NFKC').toUpperCase().replace(DASHES, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  if (!/^[0-9A-HJKMNP-TV-Z]{8}$/.test(plain)) return null;
  return `${plain.slice(0, 4)}-${plain.slice(4)}`;
}

const ROUNDS = 4;

/** The keyed permutation of 40-bit numbers behind the receipts. */
export class ReceiptCipher {
  private readonly aes: Cipher;
  constructor(secret: string) {
    this.aes = createCipheriv('aes-128-ecb', createHash('sha256').update(`formwarden receipt numbers\0${secret}`).digest().subarray(0, 16), null);
    this.aes.setAutoPadding(false);
  }

  /** Round `round`'s function of many 20-bit halves at once (one AES call for all of them, ECB). */
  private f(round: number, halves: readonly number[]): number[] {
    const input = Buffer.alloc(16 * halves.length);
    halves.forEach((h, i) => {
      input[16 * i] = round;
      input.writeUIntBE(h, 16 * i + 1, 3);
    });
    const out = this.aes.update(input);
    return halves.map((_, i) => out.readUIntBE(16 * i, 3) >>> 4);
  }

  /** The receipts of these sequence numbers (each in 1 .. 2^40 - 1), in order. */
  encode(seqs: readonly number[]): string[] {
    if (seqs.some((s) => !Number.isInteger(s) || s < 1 || s >= RECEIPT_SPACE)) throw new RangeError('receipt sequence out of range');
    let left = seqs.map((s) => Math.floor(s / HALF));
    let right = seqs.map((s) => s % HALF);
    for (let r = 0; r < ROUNDS; r++) {
      const f = this.f(r, right);
      [left, right] = [right, left.map((l, i) => l ^ f[i]!)];
    }
    return left.map((l, i) => formatReceipt(l * HALF + right[i]!));
  }

  /** The sequence number a receipt stands for (the inverse of encode). */
  decode(receipt: string): number {
    const v = receiptValue(receipt);
    let left = Math.floor(v / HALF);
    let right = v % HALF;
    for (let r = ROUNDS - 1; r >= 0; r--) [left, right] = [right ^ this.f(r, [left])[0]!, left];
    return left * HALF + right;
  }
}

export interface Receipt {
  receipt: string;
  seq: number;
}

/**
 * Hands out receipt numbers: sequence numbers come in blocks reserved with one atomic statement on the kv row
 * `receipt_seq` (the next free number; started past the highest stored one), so processes sharing the database
 * each get their own. A block's unused rest is lost at exit, which costs nothing in a 2^40 space. Rows stored
 * before migration 016 have random receipts and no sequence: while any exist, a number one of them holds is
 * passed over.
 */
export class ReceiptNumbers {
  private ready: Promise<{ cipher: ReceiptCipher; legacy: boolean }> | undefined;
  private block: Receipt[] = [];
  private at = 0;
  private reserving: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly blockSize = 1024,
  ) {}

  private setup() {
    this.ready ??= (async () => {
      const cipher = new ReceiptCipher(await ensureSecretIn(this.db, 'receipt_key'));
      const legacy = await this.db.selectFrom('submissions').select('id').where('receipt_seq', 'is', null).where('receipt', 'is not', null).limit(1).executeTakeFirst();
      return { cipher, legacy: legacy !== undefined };
    })().catch((e: unknown) => {
      this.ready = undefined; // the database may be back next time
      throw e;
    });
    return this.ready;
  }

  /** The cipher, for turning a typed receipt into its sequence number. */
  async cipher(): Promise<ReceiptCipher> {
    return (await this.setup()).cipher;
  }

  private async reserve(): Promise<void> {
    const { cipher } = await this.setup();
    const n = this.blockSize;
    const now = Date.now();
    const r = await sql<{ value: string | number }>`
      insert into kv (key, value, updated_at)
      values ('receipt_seq', cast((select coalesce(max(receipt_seq), 0) from submissions) + 1 + ${n} as text), ${now})
      on conflict (key) do update set value = cast(cast(kv.value as bigint) + ${n} as text), updated_at = ${now}
      returning value`.execute(this.db);
    const end = Number(r.rows[0]!.value);
    const seqs = Array.from({ length: n }, (_, i) => end - n + i).filter((s) => s >= 1 && s < RECEIPT_SPACE);
    if (seqs.length === 0) throw new Error('receipt numbers: the sequence is past 2^40');
    const receipts = cipher.encode(seqs);
    this.block = seqs.map((seq, i) => ({ seq, receipt: receipts[i]! }));
    this.at = 0;
  }

  /** The next receipt number for a submission about to be written. */
  async next(): Promise<Receipt> {
    const { legacy } = await this.setup();
    for (;;) {
      while (this.at >= this.block.length) {
        this.reserving ??= this.reserve().finally(() => (this.reserving = undefined));
        await this.reserving;
      }
      const next = this.block[this.at++]!;
      if (legacy) {
        const taken = await this.db.selectFrom('submissions').select('id').where('receipt', '=', next.receipt).where('receipt_seq', 'is', null).executeTakeFirst();
        if (taken) continue;
      }
      return next;
    }
  }
}

const byDb = new WeakMap<Kysely<Database>, ReceiptNumbers>();

/** The receipt numbers of a database (one allocator per database handle in this process). */
export function receiptsFor(db: Kysely<Database>): ReceiptNumbers {
  let r = byDb.get(db);
  if (!r) byDb.set(db, (r = new ReceiptNumbers(db)));
  return r;
}

/**
 * The condition that finds a submission by its id or by a receipt number as a person types it (parseReceipt):
 * by the sequence number the receipt stands for, or, for rows from before the sequence, by the number itself.
 */
export async function byIdOrReceipt(db: Kysely<Database>, typed: string): Promise<(eb: ExpressionBuilder<Database, 'submissions'>) => ReturnType<ExpressionBuilder<Database, 'submissions'>['or']>> {
  const key = typed.trim();
  const receipt = parseReceipt(key);
  const seq = receipt ? (await receiptsFor(db).cipher()).decode(receipt) : null;
  return (eb) =>
    eb.or([
      eb('id', '=', key),
      ...(receipt && seq !== null ? [eb('receipt_seq', '=', seq), eb.and([eb('receipt', '=', receipt), eb('receipt_seq', 'is', null)])] : []),
    ]);
}
