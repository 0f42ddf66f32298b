// Console accounts: an owner sees every form, a member only the forms listed for them. Shared by the
// `formwarden users` commands and the console's login.
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { newId } from '../util/id.js';
import { hashPassword, passwordProblem } from './passwords.js';

export type Role = 'owner' | 'member';

export interface ConsoleUser {
  id: string;
  email: string;
  role: Role;
  /** A member's forms; empty for an owner, who sees all. */
  forms: string[];
  totp: boolean;
  created: number;
}

export class UserError extends Error {
  constructor(
    readonly code: 'E_USER_EXISTS' | 'E_NO_USER' | 'E_PASSWORD_TOO_SHORT' | 'E_PASSWORD_TOO_LONG' | 'E_BAD_EMAIL' | 'E_UNKNOWN_FORM' | 'E_MEMBER_NEEDS_FORMS',
    message: string,
  ) {
    super(message);
  }
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export const toUser = (r: Database['console_users']): ConsoleUser => ({
  id: r.id,
  email: r.email,
  role: r.role === 'owner' ? 'owner' : 'member',
  forms: r.role === 'owner' ? [] : (JSON.parse(r.forms) as string[]),
  totp: !!r.totp_secret,
  created: r.created_at,
});

function checkPassword(password: string) {
  const p = passwordProblem(password);
  if (p === 'too_short') throw new UserError('E_PASSWORD_TOO_SHORT', 'the password is too short: use at least 10 characters (a few words are easy to remember)');
  if (p === 'too_long') throw new UserError('E_PASSWORD_TOO_LONG', 'the password is too long: at most 200 characters');
}

export async function addUser(
  db: Kysely<Database>,
  opts: { email: string; role: Role; forms?: string[]; password: string; knownForms: string[]; now?: number },
): Promise<ConsoleUser> {
  const email = normalizeEmail(opts.email);
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254) throw new UserError('E_BAD_EMAIL', `not an email address: ${email}`);
  const forms = opts.role === 'owner' ? [] : [...new Set(opts.forms ?? [])];
  if (opts.role === 'member' && forms.length === 0) throw new UserError('E_MEMBER_NEEDS_FORMS', 'a member sees only their forms: give them with --forms a,b');
  const unknown = forms.filter((f) => !opts.knownForms.includes(f));
  if (unknown.length) throw new UserError('E_UNKNOWN_FORM', `no form ${unknown.join(', ')} (forms: ${opts.knownForms.join(', ')})`);
  checkPassword(opts.password);
  if (await db.selectFrom('console_users').select('id').where('email', '=', email).executeTakeFirst()) {
    throw new UserError('E_USER_EXISTS', `${email} already has an account (change its password with users passwd)`);
  }
  const now = opts.now ?? Date.now();
  const row = { id: newId('u', now), email, role: opts.role, forms: JSON.stringify(forms), password_hash: await hashPassword(opts.password), totp_secret: null, created_at: now, updated_at: now };
  await db.insertInto('console_users').values(row).execute();
  return toUser(row);
}

export async function listUsers(db: Kysely<Database>): Promise<ConsoleUser[]> {
  return (await db.selectFrom('console_users').selectAll().orderBy('email').execute()).map(toUser);
}

export async function findUserByEmail(db: Kysely<Database>, email: string) {
  return db.selectFrom('console_users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
}

export async function getUser(db: Kysely<Database>, id: string): Promise<ConsoleUser | null> {
  const r = await db.selectFrom('console_users').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toUser(r) : null;
}

/** Removes the account and ends its sessions. */
export async function removeUser(db: Kysely<Database>, email: string): Promise<void> {
  const u = await findUserByEmail(db, email);
  if (!u) throw new UserError('E_NO_USER', `no account ${normalizeEmail(email)}`);
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('console_sessions').where('user_id', '=', u.id).execute();
    await trx.deleteFrom('console_users').where('id', '=', u.id).execute();
  });
}

/** A new password ends every session of the account (a stolen session dies with the old password). */
export async function setPassword(db: Kysely<Database>, email: string, password: string, now = Date.now()): Promise<void> {
  checkPassword(password);
  const u = await findUserByEmail(db, email);
  if (!u) throw new UserError('E_NO_USER', `no account ${normalizeEmail(email)}`);
  const hash = await hashPassword(password);
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('console_users').set({ password_hash: hash, updated_at: now }).where('id', '=', u.id).execute();
    await trx.deleteFrom('console_sessions').where('user_id', '=', u.id).execute();
  });
}

export async function setTotpSecret(db: Kysely<Database>, email: string, secret: string | null, now = Date.now()): Promise<void> {
  const u = await findUserByEmail(db, email);
  if (!u) throw new UserError('E_NO_USER', `no account ${normalizeEmail(email)}`);
  await db.updateTable('console_users').set({ totp_secret: secret, updated_at: now }).where('id', '=', u.id).execute();
}

/** Whether the user may see a form's submissions. */
export const canSeeForm = (u: Pick<ConsoleUser, 'role' | 'forms'>, formId: string) => u.role === 'owner' || u.forms.includes(formId);
