// Block and allow entries managed with `formwarden block`: stored in the database so the CLI works
// whether or not the server runs; a running server reloads them every few seconds.
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { parseCidrOrIp } from '../client-address/index.js';
import { parseDuration } from '../../util/duration.js';

export interface IpRule {
  cidr: string;
  list: 'block' | 'allow';
  expiresAt: number | null;
  note: string;
  createdAt: number;
}

/** Canonical text of an address or CIDR (throws with a clear message when it is neither). */
export function canonicalCidr(input: string): string {
  const [addr, bits] = parseCidrOrIp(input.trim());
  const full = addr.kind() === 'ipv4' ? 32 : 128;
  return bits === full ? addr.toString() : `${addr.toString()}/${bits}`;
}

/**
 * An entry's expiry as `block add --expires` takes it: a duration from now (7d, 12h) or a date; null when
 * empty. Throws when it is neither.
 */
export function ruleExpiry(text: string | undefined, now: number): number | null {
  if (!text) return null;
  const ms = parseDuration(text);
  const date = ms === null ? Date.parse(text) : now + ms;
  if (Number.isNaN(date)) throw new Error(`"${text}" is neither a duration (7d, 12h) nor a date (2030-01-31T00:00:00Z)`);
  return date;
}

export async function addRule(db: Kysely<Database>, rule: Omit<IpRule, 'createdAt'>, now: number): Promise<void> {
  const row = { cidr: canonicalCidr(rule.cidr), list: rule.list, expires_at: rule.expiresAt, note: rule.note.slice(0, 500), created_at: now };
  await db
    .insertInto('ip_rules')
    .values(row)
    .onConflict((oc) => oc.column('cidr').doUpdateSet({ list: row.list, expires_at: row.expires_at, note: row.note, created_at: now }))
    .execute();
}

export async function removeRule(db: Kysely<Database>, cidr: string): Promise<boolean> {
  const r = await db.deleteFrom('ip_rules').where('cidr', '=', canonicalCidr(cidr)).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listRules(db: Kysely<Database>): Promise<IpRule[]> {
  const rows = await db.selectFrom('ip_rules').selectAll().orderBy('created_at').execute();
  return rows.map((r) => ({ cidr: r.cidr, list: r.list as 'block' | 'allow', expiresAt: r.expires_at, note: r.note, createdAt: r.created_at }));
}

/** The entries in the shape the ip-lists defense compiles (expired ones are skipped by the matcher). */
export function toEntries(rules: IpRule[]): { allow: { cidr: string; expires?: string; note?: string }[]; block: { cidr: string; expires?: string; note?: string }[] } {
  const entry = (r: IpRule) => ({ cidr: r.cidr, ...(r.expiresAt ? { expires: new Date(r.expiresAt).toISOString() } : {}), ...(r.note ? { note: r.note } : {}) });
  return { allow: rules.filter((r) => r.list === 'allow').map(entry), block: rules.filter((r) => r.list === 'block').map(entry) };
}
