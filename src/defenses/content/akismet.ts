// Optional Akismet adapter (comment-check). Runs in the post stage and is skipped when the score so far
// already reaches `skipAtScore` (no point paying for a call). Unreachable => AKISMET_UNAVAILABLE (fail-open).
import type { Defense } from '../../pipeline/types.js';

export interface AkismetConfig {
  apiKey: string;
  /** The site the form belongs to (Akismet's "blog"), e.g. https://example.jp/ */
  blog: string;
  /** Default https://rest.akismet.com/1.1/comment-check */
  endpoint?: string;
  timeoutMs?: number; // default 3000
  authorField?: string; // default 'name'
  emailField?: string; // default 'email'
  /** Default ['message']. */
  contentFields?: string[];
  /** Skip the call when the score so far is at least this. Default 10. */
  skipAtScore?: number;
  /** Sends is_test=1 (for staging). */
  isTest?: boolean;
}

export function createAkismetDefense(config: AkismetConfig): Defense {
  if (!config.apiKey) throw new Error('akismet.apiKey: set your Akismet API key');
  if (!/^https?:\/\//.test(config.blog ?? '')) throw new Error('akismet.blog: the site URL, e.g. https://example.jp/');
  const endpoint = config.endpoint ?? 'https://rest.akismet.com/1.1/comment-check';
  if (!/^https?:\/\//.test(endpoint)) throw new Error(`akismet.endpoint: "${endpoint}" is not an http(s) URL`);
  const timeoutMs = config.timeoutMs ?? 3000;
  const skipAt = config.skipAtScore ?? 10;
  const contentFields = config.contentFields ?? ['message'];
  return {
    name: 'akismet',
    stage: 'post',
    priority: 0,
    timeoutMs: timeoutMs + 1000,
    onError: 'fail-open',
    symbols: ['AKISMET_SPAM', 'AKISMET_DISCARD', 'AKISMET_UNAVAILABLE'],
    async check(sub, ctx) {
      const so_far = (ctx.prior ?? []).reduce((s, f) => s + f.score, 0);
      if (so_far >= skipAt) return { kind: 'skip', reason: `score ${so_far} already at ${skipAt}` };
      const body = new URLSearchParams({
        api_key: config.apiKey,
        blog: config.blog,
        user_ip: sub.ip,
        user_agent: sub.userAgent ?? '',
        referrer: sub.headers.referer ?? '',
        comment_type: 'contact-form',
        comment_author: sub.fields[config.authorField ?? 'name'] ?? '',
        comment_author_email: sub.fields[config.emailField ?? 'email'] ?? '',
        comment_content: contentFields.map((f) => sub.fields[f] ?? '').filter(Boolean).join('\n\n'),
        comment_date_gmt: sub.receivedAt.toISOString(),
        blog_lang: sub.lang,
        blog_charset: 'UTF-8',
      });
      if (config.isTest) body.set('is_test', '1');
      const signal = ctx.signal ? AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
      let text: string;
      let proTip: string | null;
      try {
        const res = await ctx.fetch(endpoint, { method: 'POST', body, signal });
        text = (await res.text()).trim();
        proTip = res.headers.get('x-akismet-pro-tip');
        if (!res.ok) return { kind: 'flag', findings: [{ symbol: 'AKISMET_UNAVAILABLE', detail: `HTTP ${res.status}` }] };
      } catch (err) {
        const e = err as Error;
        return { kind: 'flag', findings: [{ symbol: 'AKISMET_UNAVAILABLE', detail: (e.name === 'TimeoutError' ? 'timeout' : e.message).slice(0, 100) }] };
      }
      if (text === 'true') {
        return { kind: 'flag', findings: [{ symbol: proTip === 'discard' ? 'AKISMET_DISCARD' : 'AKISMET_SPAM' }] };
      }
      if (text === 'false') return { kind: 'pass' };
      ctx.warn(`akismet answered "${text.slice(0, 40)}": check akismet.apiKey and akismet.blog`);
      return { kind: 'flag', findings: [{ symbol: 'AKISMET_UNAVAILABLE', detail: text.slice(0, 40) }] };
    },
  };
}
