// Rate limits per address, per /24 or /64 network, per form and global (rate-limiter-flexible).
// In memory by default; RateLimiterRedis when a Redis client is given (same semantics, shared by all
// instances, with an in-memory insurance limiter if Redis fails). Rules charged 'accepted' are refunded at
// commit when the verdict was not delivered (Rspamd: a rejected message spends no budget).
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { Action, Defense } from '../../pipeline/types.js';
import { networkKey, normalizeAddress } from '../client-address/index.js';

export type RateScope = 'address' | 'network' | 'form' | 'global';

export interface RateRule {
  /** Unique; default = scope. Appears in the RATE_LIMITED detail. */
  name?: string;
  scope: RateScope;
  points: number;
  durationSeconds: number;
  /** After the limit is hit, block for this long (default: until the window ends). */
  blockSeconds?: number;
  /** 'accepted' (default): refunded when the verdict is not delivered. 'attempt': every attempt counts. */
  charge?: 'accepted' | 'attempt';
}

export interface RateLimitConfig {
  rules?: RateRule[];
  /** Verdict actions that refund 'accepted' rules at commit. Default ['reject', 'quarantine']. */
  refundOn?: Action[];
  /** Redis key prefix. Default 'fw:rl:'. */
  keyPrefix?: string;
}

export const DEFAULT_RATE_RULES: RateRule[] = [
  { scope: 'address', points: 5, durationSeconds: 600 },
  { scope: 'network', points: 20, durationSeconds: 600 },
  { scope: 'address', name: 'address-attempts', points: 30, durationSeconds: 600, charge: 'attempt' },
  { scope: 'form', points: 200, durationSeconds: 3600 },
  { scope: 'global', points: 1000, durationSeconds: 3600 },
];

export type RateDecision =
  | { allowed: true; charged: string[] }
  | { allowed: false; rule: string; retryAfterSeconds: number; charged: string[] };

export interface RateLimiter {
  /** Charges one point on every rule. On denial, 'accepted' rules charged by this call are refunded at once. */
  consume(key: { ip: string; formId: string }): Promise<RateDecision>;
  /** Gives back one point on the named rules (those of a decision's `charged` that are 'accepted'). */
  refund(key: { ip: string; formId: string }, rules: string[]): Promise<void>;
  readonly rules: readonly Required<Pick<RateRule, 'name' | 'scope' | 'points' | 'durationSeconds' | 'charge'>>[];
}

function keyFor(scope: RateScope, ip: string, formId: string): string {
  switch (scope) {
    case 'address':
      return normalizeAddress(ip);
    case 'network':
      return networkKey(ip);
    case 'form':
      return formId;
    case 'global':
      return 'all';
  }
}

export function createRateLimiter(config: RateLimitConfig = {}, deps: { redis?: Redis } = {}): RateLimiter {
  const prefix = config.keyPrefix ?? 'fw:rl:';
  const names = new Set<string>();
  const compiled = (config.rules ?? DEFAULT_RATE_RULES).map((r, i) => {
    const where = `rateLimit.rules[${i}]`;
    if (!['address', 'network', 'form', 'global'].includes(r.scope)) throw new Error(`${where}.scope: use address, network, form or global`);
    if (!Number.isInteger(r.points) || r.points <= 0) throw new Error(`${where}.points: must be a positive integer`);
    if (!Number.isInteger(r.durationSeconds) || r.durationSeconds <= 0) throw new Error(`${where}.durationSeconds: must be a positive integer`);
    if (r.blockSeconds !== undefined && !(Number.isInteger(r.blockSeconds) && r.blockSeconds >= 0)) {
      throw new Error(`${where}.blockSeconds: must be a non-negative integer`);
    }
    const name = r.name ?? r.scope;
    if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`${where}.name: use lower-case letters, digits and -`);
    if (names.has(name)) throw new Error(`${where}.name: "${name}" is used twice; give each rule of the same scope a name`);
    names.add(name);
    const charge = r.charge ?? 'accepted';
    if (charge !== 'accepted' && charge !== 'attempt') throw new Error(`${where}.charge: use accepted or attempt`);
    const opts = { points: r.points, duration: r.durationSeconds, blockDuration: r.blockSeconds ?? 0, keyPrefix: `${prefix}${name}` };
    const limiter: RateLimiterAbstract = deps.redis
      ? new RateLimiterRedis({ ...opts, storeClient: deps.redis, insuranceLimiter: new RateLimiterMemory(opts) })
      : new RateLimiterMemory(opts);
    return { rule: { name, scope: r.scope, points: r.points, durationSeconds: r.durationSeconds, charge }, limiter };
  });
  const byName = new Map(compiled.map((c) => [c.rule.name, c]));

  async function refund(key: { ip: string; formId: string }, rules: string[]) {
    await Promise.all(
      rules.map(async (n) => {
        const c = byName.get(n);
        if (c && c.rule.charge === 'accepted') await c.limiter.reward(keyFor(c.rule.scope, key.ip, key.formId), 1);
      }),
    );
  }

  return {
    rules: compiled.map((c) => c.rule),
    refund,
    async consume(key) {
      const results = await Promise.allSettled(compiled.map((c) => c.limiter.consume(keyFor(c.rule.scope, key.ip, key.formId), 1)));
      const charged: string[] = [];
      let denied: { rule: string; ms: number } | undefined;
      let fault: unknown;
      results.forEach((r, i) => {
        const name = compiled[i]!.rule.name;
        if (r.status === 'fulfilled') charged.push(name);
        else if (r.reason instanceof RateLimiterRes) {
          if (!denied || r.reason.msBeforeNext > denied.ms) denied = { rule: name, ms: r.reason.msBeforeNext };
        } else fault ??= r.reason;
      });
      if (fault) {
        await refund(key, charged).catch(() => {});
        throw fault instanceof Error ? fault : new Error(String(fault));
      }
      if (denied) {
        await refund(key, charged);
        const kept = charged.filter((n) => byName.get(n)?.rule.charge === 'attempt');
        return { allowed: false, rule: denied.rule, retryAfterSeconds: Math.max(1, Math.ceil(denied.ms / 1000)), charged: kept };
      }
      return { allowed: true, charged };
    },
  };
}

export type RateLimitDefense = Defense & { limiter: RateLimiter };

export function createRateLimitDefense(config: RateLimitConfig = {}, deps: { redis?: Redis } = {}): RateLimitDefense {
  const limiter = createRateLimiter(config, deps);
  const refundOn = new Set<Action>(config.refundOn ?? ['reject', 'quarantine']);
  const charges = new WeakMap<object, string[]>();
  return {
    name: 'rate-limit',
    stage: 'pre',
    priority: -90,
    timeoutMs: 2000,
    // Unknown budget: deliver, but never send an auto-reply (the spam-cannon path).
    onError: 'fail-closed',
    symbols: ['RATE_LIMITED'],
    limiter,
    async check(sub) {
      const d = await limiter.consume(sub);
      charges.set(sub, d.charged);
      if (!d.allowed) {
        return {
          kind: 'final',
          action: 'reject',
          reason: 'E_RATE_LIMIT',
          retryAfterSeconds: d.retryAfterSeconds,
          findings: [{ symbol: 'RATE_LIMITED', detail: d.rule }],
        };
      }
      return { kind: 'pass' };
    },
    async commit(sub, verdict) {
      const charged = charges.get(sub);
      charges.delete(sub);
      if (!charged || verdict.finalBy === 'rate-limit' || !refundOn.has(verdict.action)) return;
      await limiter.refund(sub, charged);
    },
  };
}
