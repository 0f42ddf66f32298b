// Image captcha (svg-captcha). The answer is not stored: the token carries (form, issue time, nonce) and an
// HMAC over them plus the lower-cased answer, so verification recomputes the HMAC with what the visitor typed.
// Single use via the ReplayStore. The returned data includes a text alternative for screen readers.
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type svgCaptcha from 'svg-captcha';
import { loadLater } from '../../util/load-later.js';
import type { Defense, Lang, ReplayStore } from '../../pipeline/types.js';

export interface CaptchaImageConfig {
  /** At least 32 characters. */
  secret: string;
  /** Characters in the image. Default 5. */
  size?: number;
  noise?: number; // default 2
  /** Default 600 s. */
  expiresSeconds?: number;
  /** Characters never used (confusable ones are always excluded). */
  ignoreChars?: string;
}

export interface CaptchaImage {
  svg: string;
  token: string;
  length: number;
  expiresAt: Date;
  /** Text alternative: put it in the image's alt / aria-label and near the answer field. */
  alt: Record<Lang, string>;
}

export type CaptchaImageReason = 'E_CAPTCHA_MISSING' | 'E_CAPTCHA_WRONG' | 'E_CAPTCHA_INVALID' | 'E_CAPTCHA_EXPIRED' | 'E_CAPTCHA_REPLAYED';
export type CaptchaImageResult = { ok: true } | { ok: false; reason: CaptchaImageReason; detail?: string };

export const CAPTCHA_IMAGE_SYMBOLS: Record<CaptchaImageReason, string> = {
  E_CAPTCHA_MISSING: 'CAPTCHA_IMAGE_MISSING',
  E_CAPTCHA_WRONG: 'CAPTCHA_IMAGE_WRONG',
  E_CAPTCHA_INVALID: 'CAPTCHA_IMAGE_INVALID',
  E_CAPTCHA_EXPIRED: 'CAPTCHA_IMAGE_EXPIRED',
  E_CAPTCHA_REPLAYED: 'CAPTCHA_IMAGE_REPLAYED',
};

const CONFUSABLE = '0oO1iIlLjJ';
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export type CaptchaImageDefense = Defense & {
  create(formId: string, now?: Date): CaptchaImage;
  verify(token: string | undefined, answer: string | undefined, formId: string, now: Date, replay: ReplayStore): Promise<CaptchaImageResult>;
};

// svg-captcha is loaded on the first image served: it parses a font when loaded (~10 MB that an instance
// without image captchas would carry). Its default export also renders a given text (missing from its typings).
const svgCaptchaModule = loadLater<typeof svgCaptcha>('svg-captcha');
type Render = (text: string, options: { noise?: number; color?: boolean }) => string;
const render: Render = (text, options) => (svgCaptchaModule() as unknown as Render)(text, options);

export interface CaptchaImageDeps {
  /** Source of the captcha text (default: crypto-random from the alphabet; svg-captcha's own uses Math.random). */
  randomText?: () => string;
}

export function createCaptchaImageDefense(config: CaptchaImageConfig, deps: CaptchaImageDeps = {}): CaptchaImageDefense {
  if (typeof config.secret !== 'string' || config.secret.length < 32) {
    throw new Error('captchaImage.secret: must be at least 32 characters (e.g. openssl rand -base64 48)');
  }
  const size = config.size ?? 5;
  const noise = config.noise ?? 2;
  const expiresSeconds = config.expiresSeconds ?? 600;
  if (!Number.isInteger(size) || size < 3 || size > 10) throw new Error('captchaImage.size: use 3 to 10 characters');
  if (!Number.isInteger(noise) || noise < 0) throw new Error('captchaImage.noise: must be a non-negative integer');
  if (!(expiresSeconds > 0)) throw new Error('captchaImage.expiresSeconds: must be positive');
  const ignore = new Set(CONFUSABLE + (config.ignoreChars ?? ''));
  const alphabet = [...'abcdefghkmnpqrstuvwxyzABCDEFGHKMNPQRSTUVWXYZ23456789'].filter((ch) => !ignore.has(ch));
  if (alphabet.length < 10) throw new Error('captchaImage.ignoreChars: leaves fewer than 10 characters');
  const randomText = deps.randomText ?? (() => Array.from({ length: size }, () => alphabet[randomInt(alphabet.length)]).join(''));
  const mac = (payload: string, answer: string) => createHmac('sha256', config.secret).update(`${payload}|${answer.trim().toLowerCase()}`).digest();

  const create = (formId: string, now = new Date()): CaptchaImage => {
    const text = randomText();
    const c = { text, data: render(text, { noise, color: false }) };
    const payload = `v1.${formId}.${Math.floor(now.getTime() / 1000)}.${b64(randomBytes(12))}`;
    return {
      svg: c.data,
      token: `${b64(payload)}.${b64(mac(payload, c.text))}`,
      length: text.length,
      expiresAt: new Date(now.getTime() + expiresSeconds * 1000),
      alt: {
        en: `Security check: an image of ${text.length} letters and digits. Type them in the box (capitals do not matter). If you cannot read it, send the form anyway: a person will review your message.`,
        ja: `確認用の画像です。${text.length}文字の英数字が書かれています。入力欄に入力してください（大文字・小文字は区別しません）。読み取れない場合はそのまま送信してください。担当者が内容を確認します。`,
      },
    };
  };

  const verify: CaptchaImageDefense['verify'] = async (token, answer, formId, now, replay) => {
    if (!token || !answer?.trim()) return { ok: false, reason: 'E_CAPTCHA_MISSING' };
    if (token.length > 512 || answer.length > 64) return { ok: false, reason: 'E_CAPTCHA_INVALID', detail: 'too long' };
    const dot = token.indexOf('.');
    if (dot < 0) return { ok: false, reason: 'E_CAPTCHA_INVALID', detail: 'malformed' };
    const payload = Buffer.from(token.slice(0, dot), 'base64url').toString('utf8');
    const parts = payload.split('.');
    const [v, tokenForm, issued, nonce] = parts;
    if (parts.length !== 4 || v !== 'v1' || !/^\d+$/.test(issued ?? '') || !nonce) return { ok: false, reason: 'E_CAPTCHA_INVALID', detail: 'malformed' };
    const got = Buffer.from(token.slice(dot + 1), 'base64url');
    // The MAC covers the answer, so a wrong answer and a forged token look the same; the payload is checked
    // for form and age only after the MAC matches.
    if (got.length !== 32 || !timingSafeEqual(got, mac(payload, answer))) return { ok: false, reason: 'E_CAPTCHA_WRONG' };
    if (tokenForm !== formId) return { ok: false, reason: 'E_CAPTCHA_INVALID', detail: 'another form' };
    const age = now.getTime() / 1000 - Number(issued);
    if (age > expiresSeconds) return { ok: false, reason: 'E_CAPTCHA_EXPIRED' };
    if (age < -60) return { ok: false, reason: 'E_CAPTCHA_INVALID', detail: 'issued in the future' };
    if (!(await replay.useOnce(`captcha:${nonce}`, expiresSeconds + 120))) return { ok: false, reason: 'E_CAPTCHA_REPLAYED' };
    return { ok: true };
  };

  return {
    name: 'captcha-image',
    stage: 'main',
    priority: -20,
    timeoutMs: 2000,
    onError: 'fail-closed',
    symbols: Object.values(CAPTCHA_IMAGE_SYMBOLS),
    create,
    verify,
    async check(sub, ctx) {
      const r = await verify(sub.captcha?.imageToken, sub.captcha?.imageAnswer, sub.formId, ctx.clock(), ctx.replay);
      if (r.ok) return { kind: 'pass' };
      return { kind: 'flag', findings: [{ symbol: CAPTCHA_IMAGE_SYMBOLS[r.reason], ...(r.detail ? { detail: r.detail } : {}) }] };
    },
  };
}
