// The decision pipeline's plain-data types. Nothing here knows about HTTP frameworks: a defense sees a
// `Submission` (plain data built by the HTTP layer) and a `CheckContext` (injected ports).

export type Stage = 'pre' | 'main' | 'post';
export const STAGES: readonly Stage[] = ['pre', 'main', 'post'];

export type Action = 'accept' | 'accept_no_autoreply' | 'quarantine' | 'reject';
/** Ordered from mildest to harshest. */
export const ACTIONS: readonly Action[] = ['accept', 'accept_no_autoreply', 'quarantine', 'reject'];

export type Lang = 'ja' | 'en';

/** Evidence emitted by a defense. The score comes from the symbol catalog, multiplied by `weight` (default 1). */
export interface Finding {
  symbol: string;
  weight?: number;
  detail?: string;
  /** The verdict is at least this action, whatever the score (e.g. a verifier was unreachable). */
  minAction?: Action;
  /** Symbols this finding stands for: they are not recorded in this run (NO_PROOF replaces HONEYPOT_MISSING, ALTCHA_MISSING). */
  replaces?: readonly string[];
}

export type CheckResult =
  | { kind: 'pass'; findings?: Finding[] }
  | { kind: 'flag'; findings: Finding[] }
  | {
      kind: 'final';
      action: Exclude<Action, 'accept'>;
      /** A stable reason code, e.g. E_IP_BLOCKED, E_RATE_LIMIT. */
      reason: string;
      findings?: Finding[];
      /** For E_RATE_LIMIT / bans: when the client may try again. */
      retryAfterSeconds?: number;
    }
  | { kind: 'skip'; reason: string };

export type OnError = 'fail-open' | 'fail-closed' | 'quarantine';

export interface Submission {
  formId: string;
  fields: Record<string, string>;
  /** The client address as resolved by `clientAddress()` (trusted proxies applied). */
  ip: string;
  userAgent?: string;
  receivedAt: Date;
  /** The signed form token (form-token defense). */
  token?: string;
  /** The ALTCHA payload (base64 JSON) posted by the widget. */
  altcha?: string;
  /** Honeypot field values by field name; undefined = the field was not posted at all. */
  honeypot: Record<string, string | undefined>;
  captcha?: {
    /** captcha-image: the signed token returned with the image, and what the visitor typed. */
    imageToken?: string;
    imageAnswer?: string;
    /** third-party captcha: the widget's response token (g-recaptcha-response, cf-turnstile-response, h-captcha-response). */
    response?: string;
  };
  lang: Lang;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
}

export interface ReplayStore {
  /** True the first time `key` is used within `ttlSeconds`, false on every later use. Atomic. */
  useOnce(key: string, ttlSeconds: number): Promise<boolean>;
  /** Gives a used key back: the submission it was used for could not be stored, so it may come again. */
  release(key: string): Promise<void>;
  /** Whether any of the keys was already used (and is still remembered); records nothing. For load shedding. */
  seen?(keys: string[]): Promise<boolean>;
}

export interface RecordedFinding {
  symbol: string;
  score: number;
  detail?: string;
}

export interface CheckContext {
  clock: () => Date;
  replay: ReplayStore;
  fetch: typeof fetch;
  warn: (msg: string, data?: Record<string, unknown>) => void;
  /** Set by the runner for each check: aborted when the check's timeout passes. */
  signal?: AbortSignal;
  /** Set by the runner: findings recorded so far in this run (post-stage defenses may look at them). */
  prior?: readonly RecordedFinding[];
}

export interface Verdict {
  action: Action;
  score: number;
  symbols: RecordedFinding[];
  /** The defense whose `final` result stopped the pipeline. */
  finalBy?: string;
  /** Its reason code (E_IP_BLOCKED, E_RATE_LIMIT, ...). */
  finalReason?: string;
  retryAfterSeconds?: number;
}

export interface Defense {
  name: string;
  stage: Stage;
  /** Lower runs first within a stage; default 0. */
  priority?: number;
  /** Default: the runner's default (5000 ms). */
  timeoutMs?: number;
  onError: OnError;
  /** Symbols this defense may emit; checked against the catalog at start-up. */
  symbols?: readonly string[];
  /**
   * The check. One that needs no I/O may answer synchronously (a plain result, not a promise): it then costs
   * the run no promise and no deadline (a synchronous check cannot be timed out anyway).
   */
  check(sub: Submission, ctx: CheckContext): CheckResult | Promise<CheckResult>;
  /**
   * Cheap rejection first: an optional synchronous test without I/O, called on every defense in order
   * before any check. It matters only when one precheck answers `final`: the run ends there (no check
   * runs), the prechecks' results make the verdict and their defenses count as ran (committed).
   * Otherwise the prechecks leave no trace and the checks run as usual.
   */
  precheck?(sub: Submission, ctx: CheckContext): CheckResult | undefined;
  /** After the verdict (Rspamd's idempotent stage): charge budgets, record failures. Never changes the verdict. */
  commit?(sub: Submission, verdict: Verdict, ctx: CheckContext): void | Promise<unknown>;
}

export interface SymbolDef {
  score: number;
  description: { en: string; ja: string };
}
export type SymbolCatalog = Record<string, SymbolDef>;

export interface ActionLadder {
  accept_no_autoreply: number;
  quarantine: number;
  reject: number;
}
