// The optional second factor of a console login: TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock
// drift either way) via the otpauth library. A code is good once: the last step used is kept per account,
// so a code seen over a shoulder or in a proxy log cannot be replayed within its window.
import type { Kysely } from 'kysely';
import { Secret, TOTP } from 'otpauth';
import type { Database } from '../store/schema.js';

const PERIOD = 30;

const totpOf = (secret: string, label = '', issuer = 'Formwarden') => new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secret) });

/** A new random secret (160 bits, base32), as authenticator apps expect. */
export const newTotpSecret = () => new Secret({ size: 20 }).base32;

/** The otpauth:// URI an authenticator app reads (as a QR code or pasted). */
export const totpUri = (secret: string, account: string, issuer: string) => totpOf(secret, account, issuer).toString();

/** The code for a moment (tests, and the CLI's check). */
export const totpCode = (secret: string, at: number) => totpOf(secret).generate({ timestamp: at });

/**
 * Whether the code is right now (±1 step) and not used before for this account; a good code is spent.
 * Returns false for anything that is not six digits.
 */
export async function useTotpCode(db: Kysely<Database>, userId: string, secret: string, code: string, now: number): Promise<boolean> {
  const token = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return false;
  const delta = totpOf(secret).validate({ token, timestamp: now, window: 1 });
  if (delta === null) return false;
  const step = Math.floor(now / 1000 / PERIOD) + delta;
  const key = `console_totp:${userId}`;
  // Spend the step only if it is later than the last one spent (a conditional write: two logins racing with
  // the same code cannot both win).
  const last = await db.selectFrom('kv').select('value').where('key', '=', key).executeTakeFirst();
  if (!last) {
    const r = await db.insertInto('kv').values({ key, value: String(step), updated_at: now }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
  if (Number(last.value) >= step) return false;
  const r = await db.updateTable('kv').set({ value: String(step), updated_at: now }).where('key', '=', key).where('value', '=', last.value).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
