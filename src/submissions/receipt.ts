// Receipt numbers: 8 Crockford base32 characters grouped 4-4 ("K7QD-3M9X"), 40 random bits. Crockford's
// alphabet has no I, L, O or U, so a number read aloud or typed back is not mistaken; a lower-case or
// ungrouped copy, and I/L for 1 and O for 0, normalise to the same number. Uniqueness per instance comes from
// the database (a unique index): a collision is drawn again.
import { secureRandom } from '../util/id.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const RECEIPT_PATTERN = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

/** A new receipt number from 5 random bytes (40 bits = 8 characters). */
export function newReceipt(bytes: Uint8Array = secureRandom(5)): string {
  // 40 bits fit a double exactly: plain arithmetic, no BigInt per call (this runs for every post).
  let bits = 0;
  for (let i = 0; i < 5; i++) bits = bits * 256 + (bytes[i] ?? 0);
  let out = '';
  for (let i = 7; i >= 0; i--) {
    out += CROCKFORD[Math.floor(bits / 2 ** (i * 5)) % 32];
    if (i === 4) out += '-';
  }
  return out;
}

/** A receipt number as a person typed it, or null: case, spaces and hyphens do not matter; I/L read as 1, O as 0. */
export function parseReceipt(input: string): string | null {
  const plain = input.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  if (!/^[0-9A-HJKMNP-TV-Z]{8}$/.test(plain)) return null;
  return `${plain.slice(0, 4)}-${plain.slice(4)}`;
}
