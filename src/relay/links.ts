// The signed "I didn't request this" link of every auto-reply: `<outbox id>.<MAC>`, 47 characters
// whatever the address (fits any router's path limit), and opaque: the address is not in the token,
// the server reads it from the outbox row. The MAC (HMAC-SHA256 with the link key, 128 bits) covers
// the id and the row's recipient. Needs no login; works once (see src/http/unsubscribe.ts).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface LinkClaims {
  outboxId: string;
  address: string;
}

/** The recipient of an auto-reply by outbox id, or null when there is no such auto-reply. */
export type RecipientLookup = (outboxId: string) => Promise<string | null | undefined>;

const MAX_TOKEN = 1000;
const ID = /^[A-Za-z0-9_]{1,64}$/;
const MAC_BYTES = 16;
const MAC = /^[A-Za-z0-9_-]{22}$/;
// Tokens mailed before the short format: base64url(JSON [outbox id, address]) "." 32 characters of MAC.
const LEGACY_BODY = /^[A-Za-z0-9_-]+$/;
const LEGACY_MAC = /^[A-Za-z0-9_-]{32}$/;

/** 22 characters of base64url. Compared as text: decoding would ignore the last character's 4 spare bits. */
function mac(key: string, outboxId: string, address: string): string {
  return createHmac('sha256', key).update(`unsub.v2\0${outboxId}\0${address}`).digest().subarray(0, MAC_BYTES).toString('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function signLink(key: string, claims: LinkClaims): string {
  if (!ID.test(claims.outboxId)) throw new Error(`signLink: not an outbox id: ${claims.outboxId}`);
  return `${claims.outboxId}.${mac(key, claims.outboxId, claims.address)}`;
}

/** The mail a token names when it verifies against the recipient stored for it; null otherwise (forged, tampered, cut, unknown). */
export async function verifyLink(key: string, token: string, recipientOf: RecipientLookup): Promise<LinkClaims | null> {
  if (token.length > MAX_TOKEN) return null;
  const parts = token.split('.');
  if (parts.length !== 2) return null;
  const [head, sig] = parts as [string, string];
  if (ID.test(head) && MAC.test(sig)) {
    const address = await recipientOf(head);
    if (!address) return null;
    return sameText(sig, mac(key, head, address)) ? { outboxId: head, address } : null;
  }
  if (LEGACY_BODY.test(head) && LEGACY_MAC.test(sig)) {
    const claims = verifyLegacy(key, head, sig);
    if (!claims) return null;
    // The row must still be that auto-reply to that address.
    return (await recipientOf(claims.outboxId)) === claims.address ? claims : null;
  }
  return null;
}

/** Links mailed before the short format stay valid: they are verified, never issued. */
function verifyLegacy(key: string, body: string, sig: string): LinkClaims | null {
  if (!sameText(sig, createHmac('sha256', key).update(`unsub.${body}`).digest('base64url').slice(0, 32))) return null;
  try {
    const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string' || !ID.test(parsed[0])) return null;
    return { outboxId: parsed[0], address: parsed[1] };
  } catch {
    return null;
  }
}
