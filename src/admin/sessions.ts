// Console sessions, in the database so they work across instances. The cookie holds a random token; the
// row's id is its SHA-256, so a copy of the database opens no session. Each session has its own CSRF
// token, compared in constant time on every state-changing request.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { newId } from '../util/id.js';
import { toUser, type ConsoleUser } from './users.js';

export interface SessionPolicy {
  /** Ends after this long without a request (ms). */
  idleMs: number;
  /** Ends this long after login whatever happens (ms). */
  absoluteMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 8 * 3600_000, absoluteMs: 7 * 86400_000 };

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');
export const randomToken = () => randomBytes(32).toString('base64url');

export async function createSession(db: Kysely<Database>, userId: string, client: { ip: string; userAgent: string }, now: number, policy = DEFAULT_SESSION_POLICY) {
  const token = randomToken();
  const csrf = randomToken();
  await db
    .insertInto('console_sessions')
    .values({ id: tokenHash(token), user_id: userId, csrf, created_at: now, seen_at: now, expires_at: now + Math.min(policy.idleMs, policy.absoluteMs), ip: client.ip.slice(0, 64), user_agent: client.userAgent.slice(0, 255) })
    .execute();
  return { token, csrf };
}

export interface ActiveSession {
  id: string;
  csrf: string;
  user: ConsoleUser;
}

/** The live session for a cookie token, its idle expiry moved on (written at most once a minute); null otherwise. */
export async function findSession(db: Kysely<Database>, token: string | undefined, now: number, policy = DEFAULT_SESSION_POLICY): Promise<ActiveSession | null> {
  if (!token || token.length > 100) return null;
  const id = tokenHash(token);
  // The session and its account in one read (every console request makes it).
  const row = await db
    .selectFrom('console_sessions as s')
    .innerJoin('console_users as u', 'u.id', 's.user_id')
    .select(['s.user_id', 's.csrf', 's.created_at', 's.seen_at', 's.expires_at', 'u.email', 'u.role', 'u.forms', 'u.totp_secret', 'u.created_at as user_created'])
    .where('s.id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  if (row.expires_at <= now) {
    await db.deleteFrom('console_sessions').where('id', '=', id).execute();
    return null;
  }
  const user = toUser({ id: row.user_id, email: row.email, role: row.role, forms: row.forms, totp_secret: row.totp_secret, created_at: row.user_created, password_hash: '', updated_at: 0 });
  if (now - row.seen_at > 60_000) {
    const expires = Math.min(now + policy.idleMs, row.created_at + policy.absoluteMs);
    await db.updateTable('console_sessions').set({ seen_at: now, expires_at: expires }).where('id', '=', id).execute();
  }
  return { id, csrf: row.csrf, user };
}

export async function endSession(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('console_sessions').where('id', '=', id).execute();
}

/** Expired sessions, removed by the retention job. */
export async function pruneSessions(db: Kysely<Database>, now: number): Promise<number> {
  const r = await db.deleteFrom('console_sessions').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Constant-time comparison of a presented CSRF token with the expected one. */
export function csrfMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function audit(db: Kysely<Database>, entry: { at: number; userId: string | null; email: string; action: string; target?: string; detail?: object }): Promise<void> {
  await db
    .insertInto('console_audit')
    .values({ id: newId('a', entry.at), at: entry.at, user_id: entry.userId, email: entry.email.slice(0, 254), action: entry.action, target: (entry.target ?? '').slice(0, 255), detail: JSON.stringify(entry.detail ?? {}) })
    .execute();
}
