// Builds the decision pipeline from the configuration: which defenses run, with which stores
// (memory, or Redis when `redis.url` is set), and the handles the HTTP layer needs (block list
// before the body is read, token issuing, ALTCHA challenges, image CAPTCHA).
import { createHmac, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import {
  buildCatalog,
  createPipeline,
  DbReplayStore,
  DEFAULT_CATALOG,
  MemoryReplayStore,
  RedisReplayStore,
  type CheckContext,
  type Defense,
  type Pipeline,
  type ReplayStore,
} from '../pipeline/index.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createAltchaDefense, type AltchaDefense } from './altcha/index.js';
import { createCaptchaImageDefense } from './captcha-image/index.js';
import { compileCidrs, type CidrMatcher } from './client-address/index.js';
import { createAkismetDefense } from './content/akismet.js';
import { createContentDefense, MemoryDuplicateStore, RedisDuplicateStore } from './content/index.js';
import { createFormTokenDefense, tokenReplayKey, type FormTokenDefense } from './form-token/index.js';
import { createGeoDefense } from './geo/index.js';
import { createHoneypotDefense } from './honeypot/index.js';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { DbBanStore } from './ip-lists/db-ban-store.js';
import { createIpListsDefense, MemoryBanStore, RedisBanStore, type BanStore, type IpListsDefense } from './ip-lists/index.js';
import { createRateLimitDefense } from './rate-limit/index.js';
import { createThirdPartyCaptchaDefense } from './third-party-captcha/index.js';

export interface Defenses {
  pipeline: Pipeline;
  ipLists: IpListsDefense;
  tokens: FormTokenDefense;
  altcha: AltchaDefense | null;
  captchaImage: ReturnType<typeof createCaptchaImageDefense> | null;
  honeypotFields: string[];
  /** Bans kept in the database (when it was given): refresh() picks up bans set or lifted elsewhere. */
  bans: DbBanStore | null;
  trustProxy: CidrMatcher;
  /** Reasons that turn a request away before anything is stored (cheap rejection). */
  refuseReasons: ReadonlySet<string>;
  /**
   * Load shedding: whether a post carries what the hosted form adds, checked cheaply (signatures, then one
   * replay-store lookup; nothing recorded): a well-signed, unexpired form token for this form and, when
   * ALTCHA is on, a well-signed proof-of-work for it, neither of them already used.
   */
  carriesProof(formId: string, raw: Record<string, unknown>): Promise<boolean>;
  context(): CheckContext;
  /** Replace the block list (the CLI changes it; the server reloads it). */
  reloadIpLists(entries: { allow: unknown[]; block: unknown[] }): void;
}

export interface DefenseDeps {
  clock: Clock;
  redis?: Redis;
  /** Difficulty multiplier per form (the circuit breaker raises it). */
  raised?: (formId: string) => number;
  warn?: (msg: string, data?: Record<string, unknown>) => void;
  fetch?: typeof fetch;
  /** Where bans are kept so that every process and the CLI see them. */
  db?: Kysely<Database>;
  /** The database engine: on PostgreSQL without Redis, spent tokens and proofs are kept in the database (shared). */
  dialect?: 'sqlite' | 'postgres';
  /** Each site's token key (config sites:, generated and stored when unset): its forms' tokens and proofs are signed with it. */
  siteKeys?: ReadonlyMap<string, string>;
}

/** A key for one purpose, derived from the configured (or generated) token key. */
export function deriveKey(master: string, purpose: string): string {
  return createHmac('sha256', master).update(`formwarden:${purpose}`).digest('base64url');
}

/**
 * What `serve` would refuse in the defenses' details (CIDRs, patterns, keys, geo databases), found by building
 * them on memory stores with a throw-away key: `check-config` reports it without a database. Null: none.
 */
export function defenseProblem(config: Config): string | null {
  try {
    buildDefenses(config, randomBytes(32).toString('base64url'), { clock: systemClock });
    return null;
  } catch (e) {
    return `defenses: ${(e as Error).message}`;
  }
}

export function buildDefenses(config: Config, tokenKey: string, deps: DefenseDeps): Defenses {
  const d = config.defenses;
  const prefix = config.redis?.keyPrefix ?? 'fw:';
  const now = () => deps.clock.now();
  // Spent tokens and proofs must be seen by every process: Redis when configured, else the database on
  // PostgreSQL (several processes may share it), else memory (one SQLite process).
  const replay: ReplayStore = deps.redis
    ? new RedisReplayStore(deps.redis, `${prefix}replay:`)
    : deps.db && deps.dialect === 'postgres'
      ? new DbReplayStore(deps.db, () => deps.clock.now().getTime())
      : new MemoryReplayStore({ now: () => deps.clock.now().getTime() });

  const failureStore: BanStore = deps.redis ? new RedisBanStore(deps.redis, `${prefix}ban:`) : new MemoryBanStore(() => deps.clock.now().getTime());
  const dbBans = deps.db ? new DbBanStore(deps.db, failureStore, () => deps.clock.now().getTime()) : null;
  const banStore: BanStore = dbBans ?? failureStore;
  let ipLists = createIpListsDefense(
    { allow: d.ipLists.allow, block: d.ipLists.block, ...(d.ipLists.ban === false ? {} : { ban: d.ipLists.ban }) },
    { banStore },
  );
  // A site's forms sign with the site's own key: a token or proof issued for a form of one site fails on another's.
  const siteOfForm = new Map(config.sites.flatMap((s) => s.forms.map((f) => [f, s.id] as const)));
  const bySite = <T>(make: (key: string) => T): ((formId: string) => T) => {
    const base = make(tokenKey);
    const perSite = new Map([...(deps.siteKeys ?? new Map<string, string>())].map(([site, key]) => [site, make(key)] as const));
    return (formId) => perSite.get(siteOfForm.get(formId) ?? '') ?? base;
  };
  const tokensFor = bySite((key) =>
    createFormTokenDefense({
      secret: deriveKey(key, 'form-token'),
      minFillSeconds: d.formToken.minFillSeconds,
      maxAgeMinutes: d.formToken.maxAgeMinutes,
      missing: d.formToken.missing,
    }),
  );
  const baseTokens = tokensFor('');
  const tokens: FormTokenDefense = {
    ...baseTokens,
    issueToken: (formId, at) => tokensFor(formId).issueToken(formId, at),
    verifyToken: (token, formId, at, store) => tokensFor(formId).verifyToken(token, formId, at, store),
    inspectToken: (token, formId, at) => tokensFor(formId).inspectToken(token, formId, at),
    check: (sub, ctx) => tokensFor(sub.formId).check(sub, ctx),
  };
  const altchaFor = d.altcha.enabled
    ? bySite((key) =>
        createAltchaDefense(
          {
            hmacSecret: deriveKey(key, 'altcha'),
            ...(d.altcha.algorithm ? { algorithm: d.altcha.algorithm } : {}),
            cost: d.altcha.cost,
            minNumber: d.altcha.minNumber,
            maxNumber: d.altcha.maxNumber,
            ...(d.altcha.expiresSeconds ? { expiresSeconds: d.altcha.expiresSeconds } : {}),
          },
          { raised: deps.raised, clock: now },
        ),
      )
    : null;
  const altcha: AltchaDefense | null = altchaFor
    ? {
        ...altchaFor(''),
        createChallenge: (formId) => altchaFor(formId).createChallenge(formId),
        verify: (payload, formId, store) => altchaFor(formId).verify(payload, formId, store),
        inspect: (payload, formId) => altchaFor(formId).inspect(payload, formId),
        check: (sub, ctx) => altchaFor(sub.formId).check(sub, ctx),
      }
    : null;
  const captchaImage = d.captchaImage.enabled
    ? createCaptchaImageDefense({
        secret: deriveKey(tokenKey, 'captcha-image'),
        ...(d.captchaImage.size ? { size: d.captchaImage.size } : {}),
        ...(d.captchaImage.noise !== undefined ? { noise: d.captchaImage.noise } : {}),
        ...(d.captchaImage.expiresSeconds ? { expiresSeconds: d.captchaImage.expiresSeconds } : {}),
      })
    : null;

  const geoForms = Object.fromEntries(config.forms.filter((f) => f.countries).map((f) => [f.id, f.countries!]));
  const contentForms = Object.fromEntries(config.forms.filter((f) => f.language).map((f) => [f.id, { language: f.language! }]));

  const build = () => {
    const list: Defense[] = [ipLists, tokens, createHoneypotDefense({ fields: d.honeypot.fields })];
    if (d.rateLimit.enabled) {
      list.push(
        createRateLimitDefense(
          { ...(d.rateLimit.rules ? { rules: d.rateLimit.rules } : {}), ...(d.rateLimit.refundOn ? { refundOn: d.rateLimit.refundOn } : {}), keyPrefix: `${prefix}rl:` },
          { redis: deps.redis },
        ),
      );
    }
    if (altcha) list.push(altcha);
    if (captchaImage) list.push(captchaImage);
    if (d.captcha) list.push(createThirdPartyCaptchaDefense(d.captcha));
    if (d.geo.enabled) {
      const { enabled: _e, ...geo } = d.geo;
      list.push(createGeoDefense({ ...geo, forms: geoForms }));
    }
    if (d.content.enabled) {
      const { enabled: _e, ...content } = d.content;
      const duplicates = deps.redis ? new RedisDuplicateStore(deps.redis, `${prefix}dup:`) : new MemoryDuplicateStore();
      list.push(createContentDefense({ ...content, forms: contentForms }, { duplicates }));
    }
    if (d.akismet) list.push(createAkismetDefense(d.akismet));
    return createPipeline({ defenses: list, catalog: buildCatalog(DEFAULT_CATALOG, d.symbols), ladder: d.actions });
  };

  // The same for every run (the runner copies what it needs): made once, frozen.
  const context: CheckContext = Object.freeze({ clock: now, replay, fetch: deps.fetch ?? globalThis.fetch, warn: deps.warn ?? (() => {}) });
  const defenses: Defenses = {
    pipeline: build(),
    ipLists,
    tokens,
    altcha,
    captchaImage,
    honeypotFields: d.honeypot.fields,
    bans: dbBans,
    trustProxy: compileCidrs(config.server.trustProxy, 'server.trustProxy'),
    // The pipeline's final answers that are refused without storing anything (a forged or foreign
    // token is scored instead, and stored with its verdict).
    refuseReasons: new Set(['E_IP_BLOCKED', 'E_IP_BANNED', 'E_RATE_LIMIT', 'E_TOKEN_MISSING']),
    async carriesProof(formId, raw) {
      const token = raw._token;
      if (typeof token !== 'string') return false;
      const t = tokens.inspectToken(token, formId, now());
      if (!t.ok || !t.nonce) return false;
      const keys = [tokenReplayKey(t.nonce)];
      if (altcha) {
        const pow = raw.altcha;
        const a = typeof pow === 'string' ? altcha.inspect(pow, formId) : null;
        if (!a?.ok) return false;
        if (a.replayKey) keys.push(a.replayKey);
      }
      // A token or proof-of-work already spent proves nothing: one memory lookup, or one Redis EXISTS (if
      // Redis cannot answer, the post is let through to the pipeline, whose own replay check decides).
      return !(await (replay.seen?.(keys) ?? Promise.resolve(false)).catch(() => false));
    },
    context: () => context,
    reloadIpLists(entries) {
      ipLists = createIpListsDefense(
        { allow: [...d.ipLists.allow, ...(entries.allow as never[])], block: [...d.ipLists.block, ...(entries.block as never[])], ...(d.ipLists.ban === false ? {} : { ban: d.ipLists.ban }) },
        { banStore },
      );
      defenses.ipLists = ipLists;
      defenses.pipeline = build();
    },
  };
  return defenses;
}
