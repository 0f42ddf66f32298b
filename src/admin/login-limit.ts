// Failed console logins are counted per account and per client address (rate-limiter-flexible; in Redis
// when the instance has one, so every instance counts together). Past the limit, the account or address
// is locked out for a while; a successful login clears the account's count.
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';

export interface LoginLimits {
  perAccount: number;
  perAddress: number;
  /** Window and lockout, seconds. */
  windowSeconds: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perAccount: 5, perAddress: 20, windowSeconds: 15 * 60 };

export interface LoginLimiter {
  /** Seconds until the next try is allowed, or 0. */
  lockedFor(account: string, address: string): Promise<number>;
  failed(account: string, address: string): Promise<void>;
  succeeded(account: string): Promise<void>;
}

export function createLoginLimiter(limits: LoginLimits = DEFAULT_LOGIN_LIMITS, redis?: Redis, keyPrefix = 'fw:'): LoginLimiter {
  const make = (points: number, name: string): RateLimiterAbstract => {
    const opts = { points, duration: limits.windowSeconds, blockDuration: limits.windowSeconds, keyPrefix: `${keyPrefix}login_${name}` };
    return redis ? new RateLimiterRedis({ ...opts, storeClient: redis, insuranceLimiter: new RateLimiterMemory(opts) }) : new RateLimiterMemory(opts);
  };
  const account = make(limits.perAccount, 'account');
  const address = make(limits.perAddress, 'address');
  const wait = (r: RateLimiterRes | null, points: number) => (r && r.consumedPoints >= points ? Math.max(1, Math.ceil(r.msBeforeNext / 1000)) : 0);
  const swallow = (e: unknown) => {
    if (e instanceof RateLimiterRes) return;
    throw e;
  };
  return {
    async lockedFor(acct, addr) {
      const [a, b] = await Promise.all([account.get(acct), address.get(addr)]);
      return Math.max(wait(a, limits.perAccount), wait(b, limits.perAddress));
    },
    async failed(acct, addr) {
      await Promise.all([account.consume(acct).catch(swallow), address.consume(addr).catch(swallow)]);
    },
    async succeeded(acct) {
      await account.delete(acct);
    },
  };
}
