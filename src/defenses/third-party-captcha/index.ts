// reCAPTCHA v3, Cloudflare Turnstile and hCaptcha server-side verification (siteverify). An unreachable
// verifier (or our own misconfigured secret) never punishes the visitor: the inquiry is delivered, without
// an auto-reply (CAPTCHA_3P_UNAVAILABLE carries minAction accept_no_autoreply). Neither does a missing
// response: it always withholds the auto-reply, and when no JavaScript ran at all (ALTCHA_MISSING is
// already recorded) it adds no score, so a person without JavaScript still reaches the owner.
// With a site key, `widget` says what the page shows (see src/http/protocol.ts and web/widget.js).
import type { Defense, Finding } from '../../pipeline/types.js';

export type CaptchaProvider = 'recaptcha' | 'turnstile' | 'hcaptcha';

export const DEFAULT_VERIFY_URLS: Record<CaptchaProvider, string> = {
  recaptcha: 'https://www.google.com/recaptcha/api/siteverify',
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  hcaptcha: 'https://api.hcaptcha.com/siteverify',
};

/** The provider scripts the page loads (reCAPTCHA gets ?render=<site key>). */
export const DEFAULT_SCRIPT_URLS: Record<CaptchaProvider, string> = {
  recaptcha: 'https://www.google.com/recaptcha/api.js',
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/api.js',
  hcaptcha: 'https://js.hcaptcha.com/1/api.js',
};

/** What the providers document for a Content-Security-Policy, when their own script URL is used. */
const PROVIDER_CSP: Record<CaptchaProvider, { script: string[]; frame: string[]; connect: string[] }> = {
  recaptcha: {
    script: ['https://www.google.com/recaptcha/', 'https://www.gstatic.com/recaptcha/'],
    frame: ['https://www.google.com/recaptcha/', 'https://recaptcha.google.com/recaptcha/'],
    connect: [],
  },
  turnstile: { script: ['https://challenges.cloudflare.com'], frame: ['https://challenges.cloudflare.com'], connect: [] },
  hcaptcha: {
    script: ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
    frame: ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
    connect: ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
  },
};

/** The widget the page renders: public values only (never the secret). */
export interface CaptchaWidget {
  provider: CaptchaProvider;
  sitekey: string;
  /** The script to load, with reCAPTCHA's ?render=<site key>. */
  scriptUrl: string;
  /** reCAPTCHA v3 / Turnstile action ('submit' for reCAPTCHA when unset). */
  action?: string;
  /** Sources the hosted page's CSP must allow. */
  csp: { script: string[]; frame: string[]; connect: string[] };
}

export interface ThirdPartyCaptchaConfig {
  provider: CaptchaProvider;
  secret: string;
  /** Default: the provider's siteverify URL. */
  verifyUrl?: string;
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** reCAPTCHA v3: scores below this are flagged. Default 0.5. */
  minScore?: number;
  /** reCAPTCHA v3 / Turnstile: the action the widget was rendered with. Unchecked if unset. */
  action?: string;
  /** Hostnames the captcha may be solved on. Unchecked if unset. */
  hostnames?: string[];
  /** The public site key: the hosted page and widget.js show the widget only when it is set (hCaptcha also verifies it). */
  sitekey?: string;
  /** Default: the provider's script (DEFAULT_SCRIPT_URLS). */
  scriptUrl?: string;
}

export type CaptchaReason =
  | 'E_CAPTCHA3P_MISSING'
  | 'E_CAPTCHA3P_FAILED'
  | 'E_CAPTCHA3P_LOW_SCORE'
  | 'E_CAPTCHA3P_WRONG_ACTION'
  | 'E_CAPTCHA3P_WRONG_HOSTNAME'
  | 'E_CAPTCHA3P_UNAVAILABLE';

export const CAPTCHA_3P_PASSED = 'CAPTCHA_3P_PASSED';

export type CaptchaVerifyResult = { ok: true; score?: number } | { ok: false; reason: CaptchaReason; detail?: string };

export const CAPTCHA_3P_SYMBOLS: Record<CaptchaReason, string> = {
  E_CAPTCHA3P_MISSING: 'CAPTCHA_3P_MISSING',
  E_CAPTCHA3P_FAILED: 'CAPTCHA_3P_FAILED',
  E_CAPTCHA3P_LOW_SCORE: 'CAPTCHA_3P_LOW_SCORE',
  E_CAPTCHA3P_WRONG_ACTION: 'CAPTCHA_3P_WRONG_ACTION',
  E_CAPTCHA3P_WRONG_HOSTNAME: 'CAPTCHA_3P_WRONG_HOSTNAME',
  E_CAPTCHA3P_UNAVAILABLE: 'CAPTCHA_3P_UNAVAILABLE',
};

/** Error codes that mean our configuration is wrong, not the visitor. */
const OUR_FAULT = new Set(['missing-input-secret', 'invalid-input-secret', 'invalid-or-already-seen-response-secret', 'sitekey-secret-mismatch', 'invalid-keys', 'internal-error', 'bad-request']);

interface SiteverifyResponse {
  success?: boolean;
  score?: number;
  action?: string;
  hostname?: string;
  'error-codes'?: string[];
}

export type ThirdPartyCaptchaDefense = Defense & {
  /** Null without a site key (the owner embeds the provider's widget themselves). */
  widget: CaptchaWidget | null;
  verify(response: string | undefined, remoteip: string, deps: { fetch: typeof fetch; signal?: AbortSignal; warn?: (m: string) => void }): Promise<CaptchaVerifyResult>;
};

export function createThirdPartyCaptchaDefense(config: ThirdPartyCaptchaConfig): ThirdPartyCaptchaDefense {
  const provider = config.provider;
  if (!(provider in DEFAULT_VERIFY_URLS)) throw new Error(`captcha.provider: use one of ${Object.keys(DEFAULT_VERIFY_URLS).join(', ')}`);
  if (typeof config.secret !== 'string' || config.secret.length === 0) throw new Error(`captcha.secret: set the ${provider} secret key`);
  const url = httpUrl(config.verifyUrl ?? DEFAULT_VERIFY_URLS[provider], 'captcha.verifyUrl').href;
  const script = httpUrl(config.scriptUrl ?? DEFAULT_SCRIPT_URLS[provider], 'captcha.scriptUrl');
  if (config.sitekey !== undefined && !/^[\w-]{1,200}$/.test(config.sitekey)) throw new Error('captcha.sitekey: use the site key as the provider shows it (letters, digits, - and _)');
  const timeoutMs = config.timeoutMs ?? 5000;
  if (!(timeoutMs > 0)) throw new Error('captcha.timeoutMs: must be positive');
  const minScore = config.minScore ?? 0.5;
  if (!(minScore >= 0 && minScore <= 1)) throw new Error('captcha.minScore: use a number from 0 to 1');
  const hostnames = config.hostnames ? new Set(config.hostnames.map((h) => h.toLowerCase())) : null;

  let widget: CaptchaWidget | null = null;
  if (config.sitekey) {
    if (provider === 'recaptcha') script.searchParams.set('render', config.sitekey);
    // The provider's documented sources for its own script; only the configured origin for another one.
    const csp = config.scriptUrl === undefined ? PROVIDER_CSP[provider] : { script: [script.origin], frame: [script.origin], connect: [script.origin] };
    widget = { provider, sitekey: config.sitekey, scriptUrl: script.href, csp };
    if (provider === 'recaptcha') widget.action = config.action ?? 'submit';
    else if (provider === 'turnstile' && config.action !== undefined) widget.action = config.action;
  }

  const verify: ThirdPartyCaptchaDefense['verify'] = async (response, remoteip, deps) => {
    if (!response) return { ok: false, reason: 'E_CAPTCHA3P_MISSING' };
    if (response.length > 10_000) return { ok: false, reason: 'E_CAPTCHA3P_FAILED', detail: 'response too long' };
    const body = new URLSearchParams({ secret: config.secret, response, remoteip });
    if (provider === 'hcaptcha' && config.sitekey) body.set('sitekey', config.sitekey);
    const signal = deps.signal ? AbortSignal.any([deps.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    let data: SiteverifyResponse;
    try {
      const res = await deps.fetch(url, { method: 'POST', body, signal, headers: { accept: 'application/json' } });
      if (!res.ok) return { ok: false, reason: 'E_CAPTCHA3P_UNAVAILABLE', detail: `HTTP ${res.status}` };
      data = (await res.json()) as SiteverifyResponse;
      if (!data || typeof data !== 'object') throw new Error('not a JSON object');
    } catch (err) {
      const e = err as Error;
      return { ok: false, reason: 'E_CAPTCHA3P_UNAVAILABLE', detail: (e.name === 'TimeoutError' ? 'timeout' : e.message).slice(0, 100) };
    }
    const codes = Array.isArray(data['error-codes']) ? data['error-codes'] : [];
    if (data.success !== true) {
      const ours = codes.filter((c) => OUR_FAULT.has(c));
      if (ours.length) {
        deps.warn?.(`${provider} rejected our request (${ours.join(', ')}): check captcha.secret / sitekey`);
        return { ok: false, reason: 'E_CAPTCHA3P_UNAVAILABLE', detail: ours.join(',') };
      }
      return { ok: false, reason: 'E_CAPTCHA3P_FAILED', detail: codes.join(',') || 'success=false' };
    }
    if (hostnames && !hostnames.has(String(data.hostname ?? '').toLowerCase())) {
      return { ok: false, reason: 'E_CAPTCHA3P_WRONG_HOSTNAME', detail: String(data.hostname ?? '') };
    }
    if (config.action !== undefined && provider !== 'hcaptcha' && data.action !== config.action) {
      return { ok: false, reason: 'E_CAPTCHA3P_WRONG_ACTION', detail: String(data.action ?? '') };
    }
    if (provider === 'recaptcha') {
      if (typeof data.score !== 'number') return { ok: false, reason: 'E_CAPTCHA3P_FAILED', detail: 'no score (not a v3 key?)' };
      if (data.score < minScore) return { ok: false, reason: 'E_CAPTCHA3P_LOW_SCORE', detail: String(data.score) };
      return { ok: true, score: data.score };
    }
    return { ok: true };
  };

  return {
    name: 'third-party-captcha',
    stage: 'main',
    priority: 10,
    timeoutMs: timeoutMs + 1000,
    onError: 'fail-closed',
    symbols: [CAPTCHA_3P_PASSED, ...Object.values(CAPTCHA_3P_SYMBOLS)],
    widget,
    verify,
    async check(sub, ctx) {
      const r = await verify(sub.captcha?.response, sub.ip, { fetch: ctx.fetch, ...(ctx.signal ? { signal: ctx.signal } : {}), warn: ctx.warn });
      if (r.ok) return { kind: 'pass', findings: [{ symbol: CAPTCHA_3P_PASSED, detail: r.score === undefined ? provider : `${provider} ${r.score}` }] };
      const f: Finding = { symbol: CAPTCHA_3P_SYMBOLS[r.reason] };
      if (r.detail) f.detail = r.detail;
      if (r.reason === 'E_CAPTCHA3P_UNAVAILABLE') f.minAction = 'accept_no_autoreply';
      if (r.reason === 'E_CAPTCHA3P_MISSING') {
        f.minAction = 'accept_no_autoreply';
        // No JavaScript ran (no proof-of-work either): one cause, scored once by ALTCHA_MISSING.
        if (ctx.prior?.some((p) => p.symbol === 'ALTCHA_MISSING')) {
          f.weight = 0;
          f.detail = 'no JavaScript';
        }
      }
      return { kind: 'flag', findings: [f] };
    },
  };
}

function httpUrl(value: string, key: string): URL {
  try {
    const u = new URL(value);
    if (u.protocol === 'https:' || u.protocol === 'http:') return u;
  } catch {
    // reported below
  }
  throw new Error(`${key}: "${value}" is not an http(s) URL`);
}
