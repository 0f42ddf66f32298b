// Content checks: strict formats for short fields, link counts, disallowed words and patterns, duplicate
// bodies across submissions, and script mismatch (a Japanese form receiving text with no Japanese but
// Cyrillic or links). The Akismet adapter is in ./akismet.ts.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Defense, Finding, Lang } from '../../pipeline/types.js';

export interface ContentConfig {
  /** Fields that must hold a telephone number: digits, spaces, + - ( ) . only. Default ['tel', 'phone']. */
  telFields?: string[];
  /** Fields that must not contain a URL. Default ['name', 'tel', 'phone', 'company']. */
  noUrlFields?: string[];
  /** Fields making up the message (links, words, duplicates). Default: every field. */
  messageFields?: string[];
  /** More links than this in the message => CONTENT_TOO_MANY_LINKS. Default 2. */
  maxLinks?: number;
  /** Case-insensitive substrings (after Unicode NFKC normalisation, so full-width forms match too). */
  disallowedWords?: string[];
  /** Regular expressions (flags iu). */
  disallowedPatterns?: string[];
  /** Duplicate bodies: seen again within windowSeconds (default 1 day). false disables. */
  duplicate?: false | { windowSeconds?: number; minLength?: number; scope?: 'global' | 'form' };
  /** Form settings by form id (the language the form is written in). */
  forms?: Record<string, { language?: Lang }>;
  /** In a Japanese form with no Japanese text, this many links count as a mismatch. Default 1. */
  scriptMismatchLinks?: number;
}

/** Counts how often a body hash was seen within a window. */
export interface DuplicateStore {
  /** Records one sighting; returns the sightings within the window, this one included. */
  record(hash: string, windowSeconds: number): Promise<number>;
}

export class MemoryDuplicateStore implements DuplicateStore {
  readonly #seen = new Map<string, { count: number; expires: number }>();
  constructor(private readonly now: () => number = Date.now) {}
  async record(hash: string, windowSeconds: number): Promise<number> {
    const now = this.now();
    const e = this.#seen.get(hash);
    if (!e || e.expires <= now) {
      if (this.#seen.size > 200_000) for (const [k, v] of this.#seen) if (v.expires <= now) this.#seen.delete(k);
      this.#seen.set(hash, { count: 1, expires: now + windowSeconds * 1000 });
      return 1;
    }
    e.count += 1;
    return e.count;
  }
}

export class RedisDuplicateStore implements DuplicateStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'fw:dup:',
  ) {}
  async record(hash: string, windowSeconds: number): Promise<number> {
    const k = this.prefix + hash;
    const res = await this.redis.multi().set(k, '0', 'EX', Math.max(1, Math.ceil(windowSeconds)), 'NX').incr(k).exec();
    const r = res?.[1];
    if (!r || r[0]) throw r?.[0] ?? new Error('redis transaction failed');
    return Number(r[1]);
  }
}

export const CONTENT_SYMBOLS = [
  'CONTENT_BAD_TEL',
  'CONTENT_URL_IN_FIELD',
  'CONTENT_TOO_MANY_LINKS',
  'CONTENT_DISALLOWED_WORD',
  'CONTENT_DISALLOWED_PATTERN',
  'CONTENT_DUPLICATE',
  'CONTENT_SCRIPT_MISMATCH',
] as const;

const norm = (s: string) => s.normalize('NFKC');
// After NFKC: digits, whitespace, + - ( ) . / and the hyphens and long-vowel mark people type in Japanese numbers.
const TEL = /^[0-9\s+\-().\/‐‑‒–—―−ー]*$/u;
// No nested quantifiers: linear on long hostile input.
const URL_LIKE = /\bhttps?:\/\/|\bwww\.|\b[a-z0-9-]+\.[a-z]{2,}\/|\[url[=\]]|<a\s/i;
const LINK = /\bhttps?:\/\/|\bwww\.|\[url[=\]]|<a\s/gi;
const JAPANESE = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;
const CYRILLIC = /\p{Script=Cyrillic}/u;

export function countLinks(text: string): number {
  return norm(text).match(LINK)?.length ?? 0;
}

export function bodyHash(text: string): string {
  const canonical = norm(text).toLowerCase().replace(/\s+/gu, ' ').trim();
  return createHash('sha256').update(canonical).digest('base64url');
}

export function createContentDefense(config: ContentConfig = {}, deps: { duplicates?: DuplicateStore } = {}): Defense {
  const telFields = config.telFields ?? ['tel', 'phone'];
  const noUrlFields = config.noUrlFields ?? ['name', 'tel', 'phone', 'company'];
  const maxLinks = config.maxLinks ?? 2;
  if (!Number.isInteger(maxLinks) || maxLinks < 0) throw new Error('content.maxLinks: must be a non-negative integer');
  const words = (config.disallowedWords ?? []).map((w, i) => {
    const n = norm(String(w)).toLowerCase().trim();
    if (!n) throw new Error(`content.disallowedWords[${i}]: empty word`);
    return n;
  });
  const patterns = (config.disallowedPatterns ?? []).map((p, i) => {
    try {
      return new RegExp(p, 'iu');
    } catch (err) {
      throw new Error(`content.disallowedPatterns[${i}]: not a valid regular expression (${(err as Error).message})`);
    }
  });
  const dup = config.duplicate === false ? null : { windowSeconds: 86400, minLength: 20, scope: 'global' as const, ...config.duplicate };
  if (dup && !(dup.windowSeconds > 0)) throw new Error('content.duplicate.windowSeconds: must be positive');
  const duplicates = dup ? (deps.duplicates ?? new MemoryDuplicateStore()) : null;
  const mismatchLinks = config.scriptMismatchLinks ?? 1;

  return {
    name: 'content',
    stage: 'main',
    priority: 0,
    timeoutMs: 2000,
    onError: 'fail-open',
    symbols: CONTENT_SYMBOLS,
    async check(sub) {
      const findings: Finding[] = [];
      for (const f of telFields) {
        const v = sub.fields[f];
        if (v && (!TEL.test(norm(v)) || !/[0-9]/.test(norm(v)))) findings.push({ symbol: 'CONTENT_BAD_TEL', detail: f });
      }
      for (const f of noUrlFields) {
        const v = sub.fields[f];
        if (v && URL_LIKE.test(norm(v))) findings.push({ symbol: 'CONTENT_URL_IN_FIELD', detail: f });
      }
      const messageFields = config.messageFields ?? Object.keys(sub.fields).sort();
      const message = messageFields.map((f) => sub.fields[f] ?? '').filter(Boolean).join('\n');
      // NFKC once (it is the costly part): links, words, patterns and the duplicate hash all start from it.
      const nfkc = norm(message);
      const normalized = nfkc.toLowerCase();
      const links = nfkc.match(LINK)?.length ?? 0;
      if (links > maxLinks) findings.push({ symbol: 'CONTENT_TOO_MANY_LINKS', detail: String(links) });
      for (const w of words) {
        if (normalized.includes(w)) {
          findings.push({ symbol: 'CONTENT_DISALLOWED_WORD', detail: w });
          break;
        }
      }
      for (const p of patterns) {
        if (p.test(nfkc)) {
          findings.push({ symbol: 'CONTENT_DISALLOWED_PATTERN', detail: p.source.slice(0, 60) });
          break;
        }
      }
      if (config.forms?.[sub.formId]?.language === 'ja') {
        const all = Object.values(sub.fields).join('\n');
        if (!JAPANESE.test(all)) {
          if (CYRILLIC.test(all)) findings.push({ symbol: 'CONTENT_SCRIPT_MISMATCH', detail: 'cyrillic' });
          else if (countLinks(all) >= mismatchLinks) findings.push({ symbol: 'CONTENT_SCRIPT_MISMATCH', detail: 'links' });
        }
      }
      if (dup && duplicates) {
        const canonical = normalized.replace(/\s+/gu, ' ').trim();
        if (canonical.length >= dup.minLength) {
          const key = (dup.scope === 'form' ? `${sub.formId}:` : '') + createHash('sha256').update(canonical).digest('base64url');
          const n = await duplicates.record(key, dup.windowSeconds);
          if (n > 1) findings.push({ symbol: 'CONTENT_DUPLICATE', weight: Math.min(n - 1, 3), detail: `seen ${n} times` });
        }
      }
      return findings.length ? { kind: 'flag', findings } : { kind: 'pass' };
    },
  };
}
