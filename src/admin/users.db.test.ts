// Console accounts: scrypt hashes that verify only the right password, members bound to known forms,
// a password change or removal ending the account's sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { totpCode } from './totp.js';
import { createSession, findSession } from './sessions.js';
import { addUser, listUsers, removeUser, setPassword, UserError } from './users.js';

describe('console passwords', () => {
  it('scrypt: a salted hash per call; only the right password verifies; malformed hashes never do', async () => {
    const a = await hashPassword('パスワードは長めに');
    const b = await hashPassword('パスワードは長めに');
    expect(a).toMatch(/^scrypt\$15\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('パスワードは長めに', a)).toBe(true);
    expect(await verifyPassword('パスワードは長めに ', a)).toBe(false);
    for (const bad of ['', 'plain', 'scrypt$30$8$1$AAAA$BBBB', a.replace(/\$[\w-]+$/, '$short'), a.replace('scrypt$15', 'scrypt$9')]) expect(await verifyPassword('x', bad)).toBe(false);
  });
});

describe('TOTP', () => {
  it('matches RFC 6238 (SHA-1): the 6-digit codes of the RFC test vectors', () => {
    const rfc = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // "12345678901234567890"
    expect(totpCode(rfc, 59_000)).toBe('287082');
    expect(totpCode(rfc, 1_111_111_109_000)).toBe('081804');
    expect(totpCode(rfc, 2_000_000_000_000)).toBe('279037');
  });
});

describe.skipIf(dbUnavailable())('console accounts', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false });
  });
  afterAll(async () => {
    await t?.close();
  });
  const known = ['contact'];

  it('adds owners and members; refuses duplicates, short passwords, unknown forms and members without forms', async () => {
    const k = t.instance.db.kysely;
    await addUser(k, { email: 'A@Example.jp', role: 'owner', password: 'long enough pass', knownForms: known });
    const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e: UserError) => e.code);
    expect(await code(addUser(k, { email: 'a@example.jp', role: 'owner', password: 'long enough pass', knownForms: known }))).toBe('E_USER_EXISTS');
    expect(await code(addUser(k, { email: 'b@example.jp', role: 'owner', password: 'short', knownForms: known }))).toBe('E_PASSWORD_TOO_SHORT');
    expect(await code(addUser(k, { email: 'b@example.jp', role: 'member', forms: ['nope'], password: 'long enough pass', knownForms: known }))).toBe('E_UNKNOWN_FORM');
    expect(await code(addUser(k, { email: 'b@example.jp', role: 'member', password: 'long enough pass', knownForms: known }))).toBe('E_MEMBER_NEEDS_FORMS');
    expect(await code(addUser(k, { email: 'not an address', role: 'owner', password: 'long enough pass', knownForms: known }))).toBe('E_BAD_EMAIL');
    await addUser(k, { email: 'm@example.jp', role: 'member', forms: ['contact'], password: 'long enough pass', knownForms: known });
    expect((await listUsers(k)).map((u) => [u.email, u.role, u.forms])).toEqual([
      ['a@example.jp', 'owner', []],
      ['m@example.jp', 'member', ['contact']],
    ]);
  });

  it('a new password or removing the account ends its sessions', async () => {
    const k = t.instance.db.kysely;
    const [owner] = await listUsers(k);
    const now = Date.now();
    const s1 = await createSession(k, owner!.id, { ip: '127.0.0.1', userAgent: 'x' }, now);
    expect(await findSession(k, s1.token, now)).not.toBeNull();
    await setPassword(k, 'a@example.jp', 'another long pass');
    expect(await findSession(k, s1.token, now)).toBeNull();
    const s2 = await createSession(k, owner!.id, { ip: '127.0.0.1', userAgent: 'x' }, now);
    await removeUser(k, 'a@example.jp');
    expect(await findSession(k, s2.token, now)).toBeNull();
    expect((await listUsers(k)).map((u) => u.email)).toEqual(['m@example.jp']);
  });

  it('a session ends after its idle time and at its absolute limit, whatever the activity', async () => {
    const k = t.instance.db.kysely;
    const [m] = await listUsers(k);
    const policy = { idleMs: 10 * 60_000, absoluteMs: 30 * 60_000 };
    const t0 = 1_800_000_000_000;
    const s = await createSession(k, m!.id, { ip: '127.0.0.1', userAgent: 'x' }, t0, policy);
    expect(await findSession(k, s.token, t0 + 11 * 60_000, policy)).toBeNull();
    const s2 = await createSession(k, m!.id, { ip: '127.0.0.1', userAgent: 'x' }, t0, policy);
    for (let at = t0 + 5 * 60_000; at < t0 + 30 * 60_000; at += 5 * 60_000) expect(await findSession(k, s2.token, at, policy), String(at)).not.toBeNull();
    expect(await findSession(k, s2.token, t0 + 30 * 60_000, policy)).toBeNull();
  });
});
