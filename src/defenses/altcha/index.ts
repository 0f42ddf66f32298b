// ALTCHA proof of work (altcha-lib v2, deterministic mode: the server picks the counter, so verification
// is one HMAC). Difficulty = counter range (minNumber..maxNumber) x cost; `raised(formId)` multiplies the
// counter range (the circuit breaker raises it under attack). Single use via the ReplayStore. A missing
// solution (no JavaScript) is a scored symbol, not a hard reject.
import { createChallenge, randomInt, type Challenge, type DeriveKeyFunction, type Solution } from 'altcha-lib';
import { deriveKey as shaDeriveKey } from 'altcha-lib/algorithms/sha';
import { deriveKey as pbkdf2DeriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Defense, ReplayStore } from '../../pipeline/types.js';

export type AltchaAlgorithm = 'SHA-256' | 'SHA-384' | 'SHA-512' | 'PBKDF2/SHA-256' | 'PBKDF2/SHA-384' | 'PBKDF2/SHA-512';

export interface AltchaConfig {
  /** At least 32 characters. */
  hmacSecret: string;
  /** Default 'PBKDF2/SHA-256'. */
  algorithm?: AltchaAlgorithm;
  /** Cost per attempt (PBKDF2 iterations; for SHA the number of rounds). Default 5000 for PBKDF2, 1 for SHA. */
  cost?: number;
  /** The secret counter is drawn from minNumber..maxNumber: the solver's expected work. Defaults 5000..10000. */
  minNumber?: number;
  maxNumber?: number;
  /** Default 600 s. */
  expiresSeconds?: number;
}

export interface AltchaDeps {
  /** Difficulty multiplier per form (>= 1); the circuit breaker raises it. Default: always 1. */
  raised?: (formId: string) => number;
  clock?: () => Date;
}

export type AltchaReason = 'E_ALTCHA_MISSING' | 'E_ALTCHA_INVALID' | 'E_ALTCHA_EXPIRED' | 'E_ALTCHA_REPLAYED';
export type AltchaResult = { ok: true } | { ok: false; reason: AltchaReason; detail?: string };

const DERIVE: Record<AltchaAlgorithm, DeriveKeyFunction> = {
  'SHA-256': shaDeriveKey,
  'SHA-384': shaDeriveKey,
  'SHA-512': shaDeriveKey,
  'PBKDF2/SHA-256': pbkdf2DeriveKey,
  'PBKDF2/SHA-384': pbkdf2DeriveKey,
  'PBKDF2/SHA-512': pbkdf2DeriveKey,
};

export const ALTCHA_SYMBOLS: Record<AltchaReason, string> = {
  E_ALTCHA_MISSING: 'ALTCHA_MISSING',
  E_ALTCHA_INVALID: 'ALTCHA_INVALID',
  E_ALTCHA_EXPIRED: 'ALTCHA_EXPIRED',
  E_ALTCHA_REPLAYED: 'ALTCHA_REPLAYED',
};

export type AltchaDefense = Defense & {
  /** The JSON the widget fetches (challengeurl). */
  createChallenge(formId: string): Promise<Challenge>;
  verify(payload: string | undefined, formId: string, replay: ReplayStore): Promise<AltchaResult>;
  /** verify without the single-use check (synchronous, nothing recorded): for load shedding. `replayKey`: the key its single use is recorded under. */
  inspect(payload: string | undefined, formId: string): AltchaResult & { replayKey?: string };
  /** The difficulty a new challenge for this form gets now. */
  difficulty(formId: string): { algorithm: AltchaAlgorithm; cost: number; minNumber: number; maxNumber: number };
};

/** Canonical JSON as altcha-lib signs it: keys sorted at every level, undefined dropped. */
function sortKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .flatMap((k) => {
        const v = (value as Record<string, unknown>)[k];
        return v === undefined ? [] : [[k, sortKeys(v)]];
      }),
  );
}

const replayKey = (nonce: unknown) => `altcha:${nonce}`;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function parsePayload(payload: string): { challenge: Challenge; solution: Solution } | null {
  // The widget posts base64: decode that first (a failed JSON.parse throws, which costs more than the check).
  const decoded = () => {
    try {
      return Buffer.from(payload, 'base64').toString('utf8');
    } catch {
      return '';
    }
  };
  const texts = payload.trimStart().startsWith('{') ? [payload, decoded()] : [decoded(), payload];
  for (const text of texts) {
    try {
      const o = JSON.parse(text) as { challenge?: Challenge; solution?: Solution };
      if (o && typeof o === 'object' && o.challenge?.parameters && o.solution) return o as { challenge: Challenge; solution: Solution };
    } catch {
      // try the next form
    }
  }
  return null;
}

export function createAltchaDefense(config: AltchaConfig, deps: AltchaDeps = {}): AltchaDefense {
  if (typeof config.hmacSecret !== 'string' || config.hmacSecret.length < 32) {
    throw new Error('altcha.hmacSecret: must be at least 32 characters (e.g. openssl rand -base64 48)');
  }
  const algorithm = config.algorithm ?? 'PBKDF2/SHA-256';
  const deriveKey = DERIVE[algorithm];
  if (!deriveKey) throw new Error(`altcha.algorithm: use one of ${Object.keys(DERIVE).join(', ')}`);
  const cost = config.cost ?? (algorithm.startsWith('PBKDF2') ? 5000 : 1);
  const minNumber = config.minNumber ?? 5000;
  const maxNumber = config.maxNumber ?? 10000;
  const expiresSeconds = config.expiresSeconds ?? 600;
  if (!Number.isInteger(cost) || cost < 1) throw new Error('altcha.cost: must be a positive integer');
  if (!Number.isInteger(minNumber) || minNumber < 0) throw new Error('altcha.minNumber: must be a non-negative integer');
  if (!Number.isInteger(maxNumber) || maxNumber <= minNumber) throw new Error('altcha.maxNumber: must be an integer larger than minNumber');
  if (!(expiresSeconds > 0)) throw new Error('altcha.expiresSeconds: must be positive');
  const hmacSignatureSecret = config.hmacSecret;
  const hmacKeySignatureSecret = createHmac('sha256', config.hmacSecret).update('altcha-key-signature').digest('hex');
  const clock = deps.clock ?? (() => new Date());

  /**
   * altcha-lib's verifySolution (v2, key-signature path), done with node:crypto's synchronous HMAC
   * instead of WebCrypto (about 10x faster here), and with expiry judged by our clock.
   */
  function verifySigned(challenge: Challenge, solution: Solution, nowMs: number): 'ok' | 'expired' | 'signature' | 'solution' {
    const p = challenge.parameters;
    if (p.expiresAt && p.expiresAt < nowMs / 1000) return 'expired';
    if (typeof challenge.signature !== 'string' || !p.keySignature) return 'signature';
    const expected = createHmac('sha256', hmacSignatureSecret).update(JSON.stringify(sortKeys(p))).digest('hex');
    if (!sameText(challenge.signature, expected)) return 'signature';
    const key = (solution as { derivedKey?: unknown }).derivedKey;
    const counter = (solution as { counter?: unknown }).counter;
    if (typeof key !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(key) || !Number.isInteger(counter) || (counter as number) < 0 || (counter as number) > 0xffffffff) return 'solution';
    const keySig = createHmac('sha256', hmacKeySignatureSecret).update(Buffer.from(key, 'hex')).digest('hex');
    return sameText(String(p.keySignature), keySig) ? 'ok' : 'solution';
  }

  const difficulty = (formId: string) => {
    const raw = deps.raised?.(formId) ?? 1;
    const f = Number.isFinite(raw) && raw >= 1 ? raw : 1;
    return { algorithm, cost, minNumber: Math.round(minNumber * f), maxNumber: Math.min(0xffffffff, Math.round(maxNumber * f)) };
  };

  async function verify(payload: string | undefined, formId: string, replay: ReplayStore): Promise<AltchaResult> {
    const r = inspectPayload(payload, formId);
    if (!r.ok) return r;
    const ttl = Math.max(60, (r.expiresAt ?? 0) - Math.floor(clock().getTime() / 1000) + 60);
    if (!(await replay.useOnce(replayKey(r.nonce), ttl))) return { ok: false, reason: 'E_ALTCHA_REPLAYED' };
    return { ok: true };
  }

  function inspectPayload(payload: string | undefined, formId: string): AltchaResult & { nonce?: unknown; expiresAt?: number } {
    if (!payload) return { ok: false, reason: 'E_ALTCHA_MISSING' };
    if (payload.length > 10_000) return { ok: false, reason: 'E_ALTCHA_INVALID', detail: 'too long' };
    const parsed = parsePayload(payload);
    if (!parsed) return { ok: false, reason: 'E_ALTCHA_INVALID', detail: 'malformed' };
    if (parsed.challenge.parameters.algorithm !== algorithm) return { ok: false, reason: 'E_ALTCHA_INVALID', detail: 'algorithm' };
    const r = verifySigned(parsed.challenge, parsed.solution, clock().getTime());
    if (r === 'expired') return { ok: false, reason: 'E_ALTCHA_EXPIRED' };
    if (r !== 'ok') return { ok: false, reason: 'E_ALTCHA_INVALID', detail: r };
    const p = parsed.challenge.parameters;
    if (p.data?.formId !== formId) return { ok: false, reason: 'E_ALTCHA_INVALID', detail: 'another form' };
    return { ok: true, nonce: p.nonce, expiresAt: p.expiresAt };
  }

  return {
    name: 'altcha',
    stage: 'main',
    priority: -30,
    timeoutMs: 3000,
    onError: 'fail-closed',
    symbols: Object.values(ALTCHA_SYMBOLS),
    difficulty,
    verify,
    inspect(payload, formId) {
      const r = inspectPayload(payload, formId);
      return r.ok ? { ok: true, replayKey: replayKey(r.nonce) } : r;
    },
    async createChallenge(formId) {
      const d = difficulty(formId);
      return createChallenge({
        algorithm,
        cost: d.cost,
        counter: randomInt(d.maxNumber, d.minNumber),
        deriveKey,
        hmacSignatureSecret,
        hmacKeySignatureSecret,
        expiresAt: new Date(clock().getTime() + expiresSeconds * 1000),
        data: { formId },
      });
    },
    async check(sub, ctx) {
      const r = await verify(sub.altcha, sub.formId, ctx.replay);
      if (r.ok) return { kind: 'pass' };
      return { kind: 'flag', findings: [{ symbol: ALTCHA_SYMBOLS[r.reason], ...(r.detail ? { detail: r.detail } : {}) }] };
    },
  };
}
