// The signed "I didn't request this" link of every auto-reply. It names the mail (outbox id) and the
// address, is signed with the link key, needs no login, and works once.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface LinkClaims {
  outboxId: string;
  address: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

export function signLink(key: string, claims: LinkClaims): string {
  const body = b64(JSON.stringify([claims.outboxId, claims.address]));
  const sig = createHmac('sha256', key).update(`unsub.${body}`).digest('base64url').slice(0, 32);
  return `${body}.${sig}`;
}

export function verifyLink(key: string, token: string): LinkClaims | null {
  if (token.length > 1000) return null;
  const [body, sig, extra] = token.split('.');
  if (!body || !sig || extra !== undefined) return null;
  const want = createHmac('sha256', key).update(`unsub.${body}`).digest('base64url').slice(0, 32);
  const a = Buffer.from(sig);
  const b = Buffer.from(want);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
  try {
    const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') return null;
    return { outboxId: parsed[0], address: parsed[1] };
  } catch {
    return null;
  }
}
