// `formwarden users add|list|remove|passwd`: accounts of the owner's console (docs/admin.md). Passwords come
// from standard input (--password-stdin), never from the command line, where `ps` and shell history see them.
import { loadConfig } from '../config/load.js';
import { addUser, listUsers, removeUser, setPassword, UserError, type Role } from '../admin/users.js';
import { openAndMigrate } from '../store/db.js';
import { table } from './table.js';

async function readStdinPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UserError('E_PASSWORD_TOO_SHORT', 'give the password on standard input, e.g. `printf %s "$PASSWORD" | formwarden users add … --password-stdin`');
  }
  let s = '';
  for await (const chunk of process.stdin) s += chunk;
  // One trailing line break (echo, a file) is not part of the password.
  return s.replace(/\r?\n$/, '');
}

async function withUsers<T>(configPath: string | undefined, fn: (db: Awaited<ReturnType<typeof openAndMigrate>>, forms: string[]) => Promise<T>): Promise<T> {
  const loaded = loadConfig(configPath);
  const db = await openAndMigrate(loaded.config.database.url, loaded.baseDir);
  try {
    return await fn(db, loaded.config.forms.map((f) => f.id));
  } finally {
    await db.close();
  }
}

function fail(e: unknown): number {
  if (e instanceof UserError) {
    process.stderr.write(`formwarden: ${e.message}\n`);
    return 1;
  }
  throw e;
}

export async function usersAdd(configPath: string | undefined, email: string, opts: { role: string; forms?: string; passwordStdin?: boolean }): Promise<number> {
  try {
    if (!opts.passwordStdin) throw new UserError('E_PASSWORD_TOO_SHORT', 'use --password-stdin and give the password on standard input');
    const password = await readStdinPassword();
    const forms = opts.forms ? opts.forms.split(',').map((f) => f.trim()).filter(Boolean) : undefined;
    const u = await withUsers(configPath, (db, known) => addUser(db.kysely, { email, role: opts.role as Role, forms, password, knownForms: known }));
    process.stdout.write(`account ${u.email} (${u.role}${u.forms.length ? `: ${u.forms.join(', ')}` : ''}) added; log in at /admin/login\n`);
    return 0;
  } catch (e) {
    return fail(e);
  }
}

export async function usersList(configPath: string | undefined, opts: { json?: boolean }): Promise<number> {
  const users = await withUsers(configPath, (db) => listUsers(db.kysely));
  if (opts.json) process.stdout.write(`${JSON.stringify(users.map((u) => ({ ...u, created: new Date(u.created).toISOString() })), null, 2)}\n`);
  else process.stdout.write(table(['email', 'role', 'forms', 'totp', 'created'], users.map((u) => [u.email, u.role, u.role === 'owner' ? '(all)' : u.forms.join(','), u.totp ? 'on' : 'off', new Date(u.created).toISOString()])));
  return 0;
}

export async function usersRemove(configPath: string | undefined, email: string): Promise<number> {
  try {
    await withUsers(configPath, (db) => removeUser(db.kysely, email));
    process.stdout.write(`account ${email.trim().toLowerCase()} removed; its sessions ended\n`);
    return 0;
  } catch (e) {
    return fail(e);
  }
}

export async function usersPasswd(configPath: string | undefined, email: string, opts: { passwordStdin?: boolean }): Promise<number> {
  try {
    if (!opts.passwordStdin) throw new UserError('E_PASSWORD_TOO_SHORT', 'use --password-stdin and give the new password on standard input');
    const password = await readStdinPassword();
    await withUsers(configPath, (db) => setPassword(db.kysely, email, password));
    process.stdout.write(`password of ${email.trim().toLowerCase()} changed; its sessions ended\n`);
    return 0;
  } catch (e) {
    return fail(e);
  }
}

/**
 * Turns the second factor on (a new secret, printed once with its otpauth:// URI for the authenticator app)
 * or off (--disable). Logging in then needs the 6-digit code as well.
 */
export async function usersTotp(configPath: string | undefined, email: string, opts: { disable?: boolean }): Promise<number> {
  const { newTotpSecret, totpUri } = await import('../admin/totp.js');
  const { setTotpSecret } = await import('../admin/users.js');
  const loaded = loadConfig(configPath);
  try {
    const secret = opts.disable ? null : newTotpSecret();
    await withUsers(configPath, (db) => setTotpSecret(db.kysely, email, secret));
    if (!secret) process.stdout.write(`second factor of ${email.trim().toLowerCase()} turned off\n`);
    else {
      process.stdout.write(
        `second factor of ${email.trim().toLowerCase()} turned on. Add it to an authenticator app (shown once):\n  secret: ${secret}\n  ${totpUri(secret, email.trim().toLowerCase(), loaded.config.siteName)}\n`,
      );
    }
    return 0;
  } catch (e) {
    return fail(e);
  }
}
