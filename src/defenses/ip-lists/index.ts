// Allow and block lists of IPs and CIDRs (v4 and v6), compiled into a matcher, plus an escalating
// temporary ban tracker (fail2ban-like). The HTTP layer can use `matcher` and `bans` to answer 403
// before reading the body or writing anything.
import ipaddr from 'ipaddr.js';
import type { Redis } from 'ioredis';
import type { Action, CheckResult, Defense, Finding } from '../../pipeline/types.js';
import { networkKey, parseAddress, parseCidrOrIp } from '../client-address/index.js';

export type IpListEntryInput = string | { cidr: string; expires?: string | Date; note?: string };

export interface IpListEntry {
  cidr: string;
  expires?: Date;
  note?: string;
}

export interface IpList {
  /** The first live entry containing `ip`, or null. */
  match(ip: string, now?: Date): IpListEntry | null;
  readonly size: number;
}

function v4Int(a: ipaddr.IPv4): number {
  const o = a.octets;
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}
function v6Big(a: ipaddr.IPv6): bigint {
  return a.parts.reduce((acc, p) => (acc << 16n) | BigInt(p), 0n);
}
const V6_ALL = (1n << 128n) - 1n;

/** Compiles entries into per-prefix-length hash sets: a lookup costs one hash probe per distinct prefix length. */
export function compileIpList(entries: readonly IpListEntryInput[], what = 'ipLists'): IpList {
  const v4 = new Map<number, Map<number, IpListEntry[]>>();
  const v6 = new Map<number, Map<bigint, IpListEntry[]>>();
  entries.forEach((raw, i) => {
    const input = typeof raw === 'string' ? { cidr: raw } : raw;
    if (!input || typeof input.cidr !== 'string') throw new Error(`${what}[${i}]: give an IP, a CIDR or { cidr, expires?, note? }`);
    let net: ipaddr.IPv4 | ipaddr.IPv6;
    let bits: number;
    try {
      [net, bits] = parseCidrOrIp(input.cidr);
    } catch {
      throw new Error(`${what}[${i}]: "${input.cidr}" is not an IP address or CIDR (e.g. 203.0.113.0/24, 2001:db8::/32)`);
    }
    const entry: IpListEntry = { cidr: input.cidr.trim() };
    if (input.expires !== undefined) {
      const d = input.expires instanceof Date ? input.expires : new Date(input.expires);
      if (Number.isNaN(d.getTime())) throw new Error(`${what}[${i}].expires: "${String(input.expires)}" is not a date (use ISO 8601, e.g. 2030-01-31T00:00:00Z)`);
      entry.expires = d;
    }
    if (input.note !== undefined) entry.note = input.note;
    if (net.kind() === 'ipv4') {
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      const key = (v4Int(net as ipaddr.IPv4) & mask) >>> 0;
      let m = v4.get(bits);
      if (!m) v4.set(bits, (m = new Map()));
      m.set(key, [...(m.get(key) ?? []), entry]);
    } else {
      const mask = bits === 0 ? 0n : (V6_ALL << BigInt(128 - bits)) & V6_ALL;
      const key = v6Big(net as ipaddr.IPv6) & mask;
      let m = v6.get(bits);
      if (!m) v6.set(bits, (m = new Map()));
      m.set(key, [...(m.get(key) ?? []), entry]);
    }
  });
  const v4Lengths = [...v4.keys()].sort((a, b) => b - a);
  const v6Lengths = [...v6.keys()].sort((a, b) => b - a);
  const live = (list: IpListEntry[] | undefined, now: Date) => list?.find((e) => !e.expires || e.expires > now) ?? null;
  return {
    size: entries.length,
    match(ip, now = new Date()) {
      const a = parseAddress(ip);
      if (!a) return null;
      if (a.kind() === 'ipv4') {
        const n = v4Int(a as ipaddr.IPv4);
        for (const bits of v4Lengths) {
          const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
          const hit = live(v4.get(bits)!.get((n & mask) >>> 0), now);
          if (hit) return hit;
        }
        return null;
      }
      const n = v6Big(a as ipaddr.IPv6);
      for (const bits of v6Lengths) {
        const mask = bits === 0 ? 0n : (V6_ALL << BigInt(128 - bits)) & V6_ALL;
        const hit = live(v6.get(bits)!.get(n & mask), now);
        if (hit) return hit;
      }
      return null;
    },
  };
}

export interface IpMatcher {
  /** Allow wins over block. */
  check(ip: string, now?: Date): { list: 'allow' | 'block'; entry: IpListEntry } | null;
}

export function createIpMatcher(config: { allow?: readonly IpListEntryInput[]; block?: readonly IpListEntryInput[] }): IpMatcher {
  const allow = compileIpList(config.allow ?? [], 'ipLists.allow');
  const block = compileIpList(config.block ?? [], 'ipLists.block');
  return {
    check(ip, now) {
      const a = allow.match(ip, now);
      if (a) return { list: 'allow', entry: a };
      const b = block.match(ip, now);
      return b ? { list: 'block', entry: b } : null;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Escalating temporary bans

export interface BanRecord {
  /** Epoch ms when the ban ends. */
  until: number;
  /** 0 for the first ban, 1 for the next (4x longer), ... */
  level: number;
}

/** Storage port for the ban tracker. */
export interface BanStore {
  /** Counts one failure; returns the failures within the current window (the window starts at the first failure). */
  addFailure(key: string, windowSeconds: number): Promise<number>;
  clearFailures(key: string): Promise<void>;
  getBan(key: string): Promise<BanRecord | null>;
  /** Keeps the record for ttlSeconds (longer than the ban: the level is remembered for escalation). */
  setBan(key: string, ban: BanRecord, ttlSeconds: number): Promise<void>;
}

export class MemoryBanStore implements BanStore {
  readonly #failures = new Map<string, { count: number; expires: number }>();
  readonly #bans = new Map<string, { ban: BanRecord; expires: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  async addFailure(key: string, windowSeconds: number): Promise<number> {
    const now = this.now();
    const f = this.#failures.get(key);
    if (!f || f.expires <= now) {
      this.#failures.set(key, { count: 1, expires: now + windowSeconds * 1000 });
      if (this.#failures.size > 100_000) this.#sweep(now);
      return 1;
    }
    f.count += 1;
    return f.count;
  }
  async clearFailures(key: string): Promise<void> {
    this.#failures.delete(key);
  }
  async getBan(key: string): Promise<BanRecord | null> {
    const b = this.#bans.get(key);
    if (!b || b.expires <= this.now()) return null;
    return { ...b.ban };
  }
  async setBan(key: string, ban: BanRecord, ttlSeconds: number): Promise<void> {
    this.#bans.set(key, { ban: { ...ban }, expires: this.now() + ttlSeconds * 1000 });
  }
  #sweep(now: number) {
    for (const [k, f] of this.#failures) if (f.expires <= now) this.#failures.delete(k);
    for (const [k, b] of this.#bans) if (b.expires <= now) this.#bans.delete(k);
  }
}

export class RedisBanStore implements BanStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'fw:ban:',
  ) {}
  async addFailure(key: string, windowSeconds: number): Promise<number> {
    const k = `${this.prefix}f:${key}`;
    const res = await this.redis.multi().set(k, '0', 'EX', Math.max(1, Math.ceil(windowSeconds)), 'NX').incr(k).exec();
    const incr = res?.[1];
    if (!incr || incr[0]) throw incr?.[0] ?? new Error('redis transaction failed');
    return Number(incr[1]);
  }
  async clearFailures(key: string): Promise<void> {
    await this.redis.del(`${this.prefix}f:${key}`);
  }
  async getBan(key: string): Promise<BanRecord | null> {
    const v = await this.redis.get(`${this.prefix}b:${key}`);
    if (!v) return null;
    const o = JSON.parse(v) as BanRecord;
    return typeof o.until === 'number' && typeof o.level === 'number' ? o : null;
  }
  async setBan(key: string, ban: BanRecord, ttlSeconds: number): Promise<void> {
    await this.redis.set(`${this.prefix}b:${key}`, JSON.stringify(ban), 'EX', Math.max(1, Math.ceil(ttlSeconds)));
  }
}

export interface BanConfig {
  /** Failures within `windowSeconds` that trigger a ban. Default 5. */
  maxFailures?: number;
  windowSeconds?: number; // default 600
  /** First ban length. Default 600 s. Each next ban is `factor` times longer (default 4), up to maxBanSeconds. */
  banSeconds?: number;
  factor?: number;
  maxBanSeconds?: number; // default 7 days
  /** How long after a ban ends the level is remembered for escalation. Default 7 days. */
  rememberSeconds?: number;
  /** Ban the single address (default) or its /24 or /64 network. */
  keyBy?: 'address' | 'network';
}

export type BanStatus = { until: Date; level: number; retryAfterSeconds: number };

export interface BanTracker {
  status(ip: string, now: Date): Promise<BanStatus | null>;
  recordFailure(ip: string, now: Date): Promise<{ banned: false; failures: number } | ({ banned: true } & BanStatus)>;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!(typeof x === 'number' && Number.isFinite(x) && x > 0)) throw new Error(`ipLists.ban.${name}: must be a positive number`);
  return x;
}

export function createBanTracker(config: BanConfig, store: BanStore): BanTracker {
  const maxFailures = positive('maxFailures', config.maxFailures, 5);
  const windowSeconds = positive('windowSeconds', config.windowSeconds, 600);
  const banSeconds = positive('banSeconds', config.banSeconds, 600);
  const factor = positive('factor', config.factor, 4);
  const maxBanSeconds = positive('maxBanSeconds', config.maxBanSeconds, 7 * 86400);
  const rememberSeconds = positive('rememberSeconds', config.rememberSeconds, 7 * 86400);
  if (factor < 1) throw new Error('ipLists.ban.factor: must be at least 1');
  const keyOf = (ip: string) => (config.keyBy === 'network' ? networkKey(ip) : (parseAddress(ip)?.toString() ?? ip));
  const toStatus = (b: BanRecord, now: Date): BanStatus => ({
    until: new Date(b.until),
    level: b.level,
    retryAfterSeconds: Math.max(1, Math.ceil((b.until - now.getTime()) / 1000)),
  });
  return {
    async status(ip, now) {
      const b = await store.getBan(keyOf(ip));
      return b && b.until > now.getTime() ? toStatus(b, now) : null;
    },
    async recordFailure(ip, now) {
      const key = keyOf(ip);
      const failures = await store.addFailure(key, windowSeconds);
      if (failures < maxFailures) return { banned: false, failures };
      const prev = await store.getBan(key);
      if (prev && prev.until > now.getTime()) return { banned: true, ...toStatus(prev, now) };
      const level = prev ? prev.level + 1 : 0;
      const seconds = Math.min(maxBanSeconds, banSeconds * factor ** level);
      const ban = { until: now.getTime() + seconds * 1000, level };
      await store.setBan(key, ban, seconds + rememberSeconds);
      await store.clearFailures(key);
      return { banned: true, ...toStatus(ban, now) };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The defense

export interface IpListsConfig {
  allow?: IpListEntryInput[];
  block?: IpListEntryInput[];
  /** Omit to disable temporary bans. */
  ban?: BanConfig;
  /** Verdicts that count as a failure for the ban tracker. Default ['reject']. */
  failureActions?: Action[];
}

export const IP_LISTS_SYMBOLS = ['IP_ALLOWLISTED', 'IP_BLOCKLISTED', 'IP_BANNED'] as const;

export type IpListsDefense = Defense & { matcher: IpMatcher; bans: BanTracker | null };

export function createIpListsDefense(config: IpListsConfig, deps: { banStore?: BanStore } = {}): IpListsDefense {
  const matcher = createIpMatcher(config);
  const bans = config.ban ? createBanTracker(config.ban, deps.banStore ?? new MemoryBanStore()) : null;
  const failureActions = new Set<Action>(config.failureActions ?? ['reject']);
  const name = 'ip-lists';
  const describe = (e: IpListEntry) => (e.note ? `${e.cidr} (${e.note})` : e.cidr);
  const lists = (ip: string, now: Date): CheckResult | null => {
    const hit = matcher.check(ip, now);
    if (hit?.list === 'allow') return { kind: 'pass', findings: [{ symbol: 'IP_ALLOWLISTED', detail: describe(hit.entry) }] };
    if (hit?.list === 'block') {
      return { kind: 'final', action: 'reject', reason: 'E_IP_BLOCKED', findings: [{ symbol: 'IP_BLOCKLISTED', detail: describe(hit.entry) }] };
    }
    return null;
  };
  return {
    name,
    stage: 'pre',
    priority: -100,
    timeoutMs: 2000,
    onError: 'fail-open',
    symbols: IP_LISTS_SYMBOLS,
    matcher,
    bans,
    // The lists without the bans (an async lookup): so that an early refusal still counts toward a ban.
    precheck: (sub, ctx) => lists(sub.ip, ctx.clock()) ?? { kind: 'pass' },
    check(sub, ctx) {
      const now = ctx.clock();
      const listed = lists(sub.ip, now);
      if (listed) return listed;
      if (!bans) return { kind: 'pass' };
      return bans.status(sub.ip, now).then((s): CheckResult => {
        if (!s) return { kind: 'pass' };
        const f: Finding = { symbol: 'IP_BANNED', detail: `level ${s.level} until ${s.until.toISOString()}` };
        return { kind: 'final', action: 'reject', reason: 'E_IP_BANNED', retryAfterSeconds: s.retryAfterSeconds, findings: [f] };
      });
    },
    commit(sub, verdict, ctx) {
      if (!bans || verdict.finalBy === name || !failureActions.has(verdict.action)) return;
      if (verdict.symbols.some((s) => s.symbol === 'IP_ALLOWLISTED')) return;
      return bans.recordFailure(sub.ip, ctx.clock());
    },
  };
}
