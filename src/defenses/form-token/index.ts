// Signed form token: HMAC-SHA256 over (form id, issue time, nonce), base64url. Verified for minimum fill
// time, maximum age, form binding and single use (ReplayStore). Outcomes are values with reason codes.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CheckResult, Defense, Finding, ReplayStore } from '../../pipeline/types.js';
import { thenMaybe, type MaybePromise } from '../../util/maybe-async.js';

export type TokenReason =
  | 'E_TOKEN_MISSING'
  | 'E_TOKEN_INVALID'
  | 'E_TOKEN_TOO_FAST'
  | 'E_TOKEN_EXPIRED'
  | 'E_TOKEN_REPLAYED'
  | 'E_TOKEN_WRONG_FORM';

export type TokenResult = { ok: true; issuedAt: Date; fillSeconds: number } | { ok: false; reason: TokenReason; detail?: string };

export interface FormTokenConfig {
  /** At least 32 characters. A list rotates keys: the first signs, all verify. */
  secret: string | string[];
  minFillSeconds?: number; // default 3
  maxAgeMinutes?: number; // default 60
  /** Issue times this far in the future are accepted (clock skew between instances). Default 30 s. */
  clockSkewSeconds?: number;
  /**
   * What a missing token does: 'accept' (a plain HTML form on the owner's site: NO_PROOF, stored and notified,
   * never auto-replied; it stands for the honeypot and proof-of-work such a form cannot carry), 'flag'
   * (default here: TOKEN_MISSING is scored with the rest) or 'reject' (final reject E_TOKEN_MISSING before
   * any other check: only forms served by us or the widget are accepted).
   */
  missing?: MissingTokenPolicy;
}

export type MissingTokenPolicy = 'accept' | 'flag' | 'reject';

/** The symbol of a post without a token under missing: accept. */
export const NO_PROOF = 'NO_PROOF';
/** What a plain HTML form cannot carry: NO_PROOF stands for these (they are not scored beside it). */
export const NO_PROOF_REPLACES = ['HONEYPOT_MISSING', 'ALTCHA_MISSING'] as const;

export interface FormTokens {
  issueToken(formId: string, now?: Date): string;
  /** Answers at once when the token fails before its single use is recorded (missing, forged, expired, too fast). */
  verifyToken(token: string | undefined, formId: string, now: Date, replay: ReplayStore): MaybePromise<TokenResult>;
  /** verifyToken without the single-use check (synchronous, nothing recorded): for load shedding. */
  inspectToken(token: string | undefined, formId: string, now: Date): TokenResult & { nonce?: string };
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');
/** The key a token's single use is recorded under in the ReplayStore. */
export const tokenReplayKey = (nonce: string) => `token:${nonce}`;
const VERSION = 'v1';

export function createFormTokens(config: FormTokenConfig): FormTokens {
  const secrets = (Array.isArray(config.secret) ? config.secret : [config.secret]).filter((s) => s !== undefined);
  if (secrets.length === 0) throw new Error('formToken.secret: set a secret of at least 32 characters (e.g. openssl rand -base64 48)');
  secrets.forEach((s, i) => {
    if (typeof s !== 'string' || s.length < 32) {
      throw new Error(`formToken.secret${secrets.length > 1 ? `[${i}]` : ''}: must be at least 32 characters (e.g. openssl rand -base64 48)`);
    }
  });
  const minFill = config.minFillSeconds ?? 3;
  const maxAge = (config.maxAgeMinutes ?? 60) * 60;
  const skew = config.clockSkewSeconds ?? 30;
  if (!(minFill >= 0)) throw new Error('formToken.minFillSeconds: must be 0 or more');
  if (!(maxAge > minFill)) throw new Error('formToken.maxAgeMinutes: must be longer than minFillSeconds');
  const sign = (secret: string, payload: string) => createHmac('sha256', secret).update(payload).digest();
  function inspect(token: string | undefined, formId: string, now: Date): TokenResult & { nonce?: string } {
    if (!token) return { ok: false, reason: 'E_TOKEN_MISSING' };
    if (token.length > 512) return { ok: false, reason: 'E_TOKEN_INVALID', detail: 'too long' };
    const dot = token.indexOf('.');
    if (dot < 0) return { ok: false, reason: 'E_TOKEN_INVALID', detail: 'malformed' };
    const payload = Buffer.from(token.slice(0, dot), 'base64url').toString('utf8');
    const mac = Buffer.from(token.slice(dot + 1), 'base64url');
    const good = mac.length === 32 && secrets.some((s) => timingSafeEqual(sign(s, payload), mac));
    if (!good) return { ok: false, reason: 'E_TOKEN_INVALID', detail: 'bad signature' };
    const parts = payload.split('.');
    const [version, tokenForm, issued, nonce] = parts;
    if (parts.length !== 4 || version !== VERSION || !/^\d+$/.test(issued ?? '') || !nonce) {
      return { ok: false, reason: 'E_TOKEN_INVALID', detail: 'malformed payload' };
    }
    if (tokenForm !== formId) return { ok: false, reason: 'E_TOKEN_WRONG_FORM', detail: `issued for ${tokenForm}` };
    const issuedAt = new Date(Number(issued) * 1000);
    const age = (now.getTime() - issuedAt.getTime()) / 1000;
    // Correctly signed, so issued here: our clock went back since. Scored as expired (the inquiry is
    // kept, without auto-reply), not as forged, or every form open during the step would be rejected.
    if (age < -skew) return { ok: false, reason: 'E_TOKEN_EXPIRED', detail: 'issued in the future (the clock went back)' };
    if (age > maxAge) return { ok: false, reason: 'E_TOKEN_EXPIRED', detail: `${Math.round(age / 60)} min old` };
    if (age < minFill) return { ok: false, reason: 'E_TOKEN_TOO_FAST', detail: `${Math.max(0, age).toFixed(0)} s` };
    return { ok: true, issuedAt, fillSeconds: Math.round(age), nonce };
  }

  return {
    issueToken(formId, now = new Date()) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(formId)) throw new Error(`issueToken: "${formId}" is not a form id`);
      const payload = `${VERSION}.${formId}.${Math.floor(now.getTime() / 1000)}.${b64(randomBytes(12))}`;
      return `${b64(payload)}.${b64(sign(secrets[0]!, payload))}`;
    },
    verifyToken(token, formId, now, replay) {
      const r = inspect(token, formId, now);
      if (!r.ok) return r;
      return replay
        .useOnce(tokenReplayKey(r.nonce!), maxAge + skew + 60)
        .then((first): TokenResult => (first ? { ok: true, issuedAt: r.issuedAt, fillSeconds: r.fillSeconds } : { ok: false, reason: 'E_TOKEN_REPLAYED' }));
    },
    inspectToken: inspect,
  };
}

export const TOKEN_SYMBOLS: Record<TokenReason, string> = {
  E_TOKEN_MISSING: 'TOKEN_MISSING',
  E_TOKEN_INVALID: 'TOKEN_INVALID',
  E_TOKEN_TOO_FAST: 'TOKEN_TOO_FAST',
  E_TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  E_TOKEN_REPLAYED: 'TOKEN_REPLAYED',
  E_TOKEN_WRONG_FORM: 'TOKEN_WRONG_FORM',
};

export type FormTokenDefense = Defense & FormTokens;

export function createFormTokenDefense(config: FormTokenConfig): FormTokenDefense {
  const tokens = createFormTokens(config);
  if (config.missing !== undefined && config.missing !== 'accept' && config.missing !== 'flag' && config.missing !== 'reject') {
    throw new Error('formToken.missing: use accept, flag or reject');
  }
  const missingRejects = config.missing === 'reject';
  const missingAccepted = config.missing === 'accept';
  return {
    ...tokens,
    name: 'form-token',
    stage: 'main',
    priority: -40,
    timeoutMs: 2000,
    onError: 'fail-closed',
    symbols: [...Object.values(TOKEN_SYMBOLS), NO_PROOF],
    // A missing token is refused before the other defenses run (only with missing: reject).
    precheck(sub) {
      if (sub.token || !missingRejects) return undefined;
      return { kind: 'final', action: 'reject', reason: 'E_TOKEN_MISSING', findings: [{ symbol: TOKEN_SYMBOLS.E_TOKEN_MISSING }] };
    },
    check: (sub, ctx) => thenMaybe(tokens.verifyToken(sub.token, sub.formId, ctx.clock(), ctx.replay), resultOf),
  };

  function resultOf(r: TokenResult): CheckResult {
    if (r.ok) return { kind: 'pass' };
    const f: Finding = { symbol: TOKEN_SYMBOLS[r.reason] };
    if (r.reason === 'E_TOKEN_MISSING' && missingRejects) return { kind: 'final', action: 'reject', reason: r.reason, findings: [f] };
    // A plain HTML form: kept and notified, never auto-replied (the floor), whatever else it scores.
    if (r.reason === 'E_TOKEN_MISSING' && missingAccepted) {
      return { kind: 'flag', findings: [{ symbol: NO_PROOF, minAction: 'accept_no_autoreply', replaces: NO_PROOF_REPLACES }] };
    }
    if (r.detail) f.detail = r.detail;
    return { kind: 'flag', findings: [f] };
  }
}
