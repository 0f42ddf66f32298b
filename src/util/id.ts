// Identifiers that sort by creation time and cannot be guessed: 10 characters of time, 12 of randomness
// (Crockford base32, as in ULID), behind a short prefix naming the kind of row.
import { randomFillSync } from 'node:crypto';

// Random bytes drawn 4 KiB at a time from the same CSPRNG (one call per ~300 ids instead of one per id);
// every byte is handed out once.
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

/** n (at most 4096) fresh random bytes; the view is valid until the next call. */
export function secureRandom(n: number): Uint8Array {
  if (poolAt + n > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const out = POOL.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** Crockford base32 in lower case: no i, l, o, u; safe in URLs and mail local parts. */
export const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** The 22 characters after the prefix, written in place: one string made per id, the time part once per millisecond. */
const ID_BYTES = Buffer.alloc(22);
const CODES = Buffer.from(ALPHABET, 'latin1');
let idTimeOf = Number.NaN;

export function newId(prefix: string, now = Date.now()): string {
  if (now !== idTimeOf) {
    let t = now;
    for (let i = 9; i >= 0; i--) {
      ID_BYTES[i] = CODES[t % 32]!;
      t = Math.floor(t / 32);
    }
    idTimeOf = now;
  }
  const bytes = secureRandom(12);
  for (let i = 0; i < 12; i++) ID_BYTES[10 + i] = CODES[bytes[i]! % 32]!;
  return `${prefix}_${ID_BYTES.toString('latin1')}`;
}
