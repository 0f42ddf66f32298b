// Identifiers that sort by creation time and cannot be guessed: 10 characters of time, 12 of randomness
// (Crockford base32, as in ULID), behind a short prefix naming the kind of row.
import { randomBytes } from 'node:crypto';

/** Crockford base32 in lower case: no i, l, o, u; safe in URLs and mail local parts. */
export const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(12);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 32];
  return `${prefix}_${time}${rand}`;
}
