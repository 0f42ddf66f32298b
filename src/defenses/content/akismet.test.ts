import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAkismetDefense } from './akismet.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';
import { createPipeline } from '../../pipeline/runner.js';
import { DEFAULT_CATALOG } from '../../pipeline/default-catalog.js';
import type { Defense } from '../../pipeline/types.js';

// A fake Akismet: the comment author names the scenario.
let server: Server;
let endpoint = '';
const seen: URLSearchParams[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const p = new URLSearchParams(body);
      seen.push(p);
      const author = p.get('comment_author');
      if (p.get('api_key') !== 'key123') return res.end('invalid');
      if (author === 'viagra-test-123') {
        res.setHeader('X-akismet-pro-tip', 'discard');
        return res.end('true');
      }
      if (author === 'spammer') return res.end('true');
      if (author === 'broken') {
        res.statusCode = 500;
        return res.end('oops');
      }
      res.end('false');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/1.1/comment-check`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const sub = (name: string) =>
  makeSubmission({ formId: 'contact', ip: '198.51.100.9', userAgent: 'UA', fields: { name, email: 'a@example.jp', message: 'Hello' }, lang: 'en' });

describe('akismet', () => {
  let d: Defense;
  beforeAll(() => {
    // A hang guard sized for a loaded 2-core machine: every case here gets an answer (500 ms could pass first).
    d = createAkismetDefense({ apiKey: 'key123', blog: 'https://example.jp/', endpoint, timeoutMs: 30_000 });
  });
  const ctx = createCheckContext();
  it('maps ham, spam and blatant spam', async () => {
    expect(await d.check(sub('Jane'), ctx)).toEqual({ kind: 'pass' });
    const p = seen.at(-1)!;
    expect([p.get('user_ip'), p.get('comment_type'), p.get('comment_author_email'), p.get('comment_content'), p.get('blog')]).toEqual([
      '198.51.100.9',
      'contact-form',
      'a@example.jp',
      'Hello',
      'https://example.jp/',
    ]);
    expect(await d.check(sub('spammer'), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'AKISMET_SPAM' }] });
    expect(await d.check(sub('viagra-test-123'), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'AKISMET_DISCARD' }] });
  });
  it('unavailable or misconfigured => AKISMET_UNAVAILABLE', async () => {
    expect(await d.check(sub('broken'), ctx)).toMatchObject({ findings: [{ symbol: 'AKISMET_UNAVAILABLE', detail: 'HTTP 500' }] });
    const warnings: string[] = [];
    const bad = createAkismetDefense({ apiKey: 'nope', blog: 'https://example.jp/', endpoint });
    expect(await bad.check(sub('Jane'), createCheckContext({ warn: (m) => warnings.push(m) }))).toMatchObject({ findings: [{ symbol: 'AKISMET_UNAVAILABLE' }] });
    expect(warnings.join()).toMatch(/apiKey/);
    const down = createAkismetDefense({ apiKey: 'key123', blog: 'https://example.jp/', endpoint: 'http://127.0.0.1:1/x' });
    expect(await down.check(sub('Jane'), ctx)).toMatchObject({ findings: [{ symbol: 'AKISMET_UNAVAILABLE' }] });
  });
  it('is skipped when earlier defenses already reached the skip score', async () => {
    const before = seen.length;
    const bad: Defense = { name: 'bad', stage: 'main', onError: 'fail-open', check: async () => ({ kind: 'flag', findings: [{ symbol: 'HONEYPOT_FILLED' }] }) };
    const p = createPipeline({ defenses: [d, bad], catalog: DEFAULT_CATALOG });
    const r = await p.run(sub('spammer'), ctx);
    expect(seen.length).toBe(before);
    expect(r.ran).toEqual(['bad']);
  });
  it('fails fast on bad config', () => {
    expect(() => createAkismetDefense({ apiKey: '', blog: 'https://x/' })).toThrow(/apiKey/);
    expect(() => createAkismetDefense({ apiKey: 'k', blog: 'example.jp' })).toThrow(/blog/);
  });
});
