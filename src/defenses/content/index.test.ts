import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { MemoryDuplicateStore, RedisDuplicateStore, bodyHash, countLinks, createContentDefense } from './index.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
afterAll(() => redis.disconnect());

const ctx = createCheckContext();
const symbols = async (d: ReturnType<typeof createContentDefense>, fields: Record<string, string>, formId = 'contact') => {
  const r = await d.check(makeSubmission({ formId, fields }), ctx);
  return r.kind === 'flag' ? r.findings.map((f) => `${f.symbol}${f.detail ? `=${f.detail}` : ''}`) : [];
};

describe('content', () => {
  const d = createContentDefense({ duplicate: false });

  it('accepts ordinary Japanese and English inquiries', async () => {
    expect(await symbols(d, { name: '山田 太郎', tel: '03-1234-5678', company: '株式会社例', message: '見積もりをお願いします。詳細は https://example.jp/spec をご覧ください。' })).toEqual([]);
    expect(await symbols(d, { name: 'Jane Doe', tel: '+81 (3) 1234.5678', message: 'Hello, could you send a quote?' })).toEqual([]);
    expect(await symbols(d, { tel: '０３ー１２３４ー５６７８' })).toEqual([]);
  });

  it('telephone fields allow digits and separators only', async () => {
    expect(await symbols(d, { tel: '03-1234-5678 ext 2' })).toEqual(['CONTENT_BAD_TEL=tel']);
    expect(await symbols(d, { phone: 'call me' })).toEqual(['CONTENT_BAD_TEL=phone']);
    expect(await symbols(d, { tel: '---' })).toEqual(['CONTENT_BAD_TEL=tel']);
  });

  it('no URLs in name, tel or company (full-width too)', async () => {
    expect(await symbols(d, { name: 'Buy now http://spam.example' })).toEqual(['CONTENT_URL_IN_FIELD=name']);
    expect(await symbols(d, { company: 'ｗｗｗ．spam．example' })).toEqual(['CONTENT_URL_IN_FIELD=company']);
    expect(await symbols(d, { company: 'cheap.example/offers' })).toEqual(['CONTENT_URL_IN_FIELD=company']);
    expect(await symbols(d, { company: 'Example.com Inc.' })).toEqual([]);
    expect(await symbols(d, { company: 'sub.cheap.example/x' })).toEqual(['CONTENT_URL_IN_FIELD=company']);
    // hostile input without a URL is checked (no catastrophic backtracking) and passes
    expect(await symbols(d, { company: 'ab.'.repeat(50_000) })).toEqual([]);
  });

  it('counts links against maxLinks', async () => {
    expect(countLinks('a http://x.example b https://y.example www.z.example [url=q] <a href=1>')).toBe(5);
    const strict = createContentDefense({ duplicate: false, maxLinks: 1 });
    expect(await symbols(strict, { message: 'see http://a.example and http://b.example' })).toEqual(['CONTENT_TOO_MANY_LINKS=2']);
    expect(await symbols(strict, { message: 'see http://a.example' })).toEqual([]);
  });

  it('disallowed words (NFKC, case-insensitive) and patterns', async () => {
    const w = createContentDefense({ duplicate: false, disallowedWords: ['Casino', 'バイアグラ'], disallowedPatterns: ['\\bSEO\\s+services?\\b'] });
    expect(await symbols(w, { message: 'Best ＣＡＳＩＮＯ offers' })).toEqual(['CONTENT_DISALLOWED_WORD=casino']);
    expect(await symbols(w, { message: '格安ﾊﾞｲｱｸﾞﾗ' })).toEqual(['CONTENT_DISALLOWED_WORD=バイアグラ']);
    expect(await symbols(w, { message: 'We offer seo   Services cheap' })).toEqual(['CONTENT_DISALLOWED_PATTERN=\\bSEO\\s+services?\\b']);
    expect(await symbols(w, { message: 'A question about your product' })).toEqual([]);
    expect(() => createContentDefense({ disallowedPatterns: ['(unclosed'] })).toThrow(/disallowedPatterns\[0\]/);
  });

  it('script mismatch on Japanese forms only', async () => {
    const s = createContentDefense({ duplicate: false, forms: { jp: { language: 'ja' } } });
    expect(await symbols(s, { message: 'Привет, купите наши услуги' }, 'jp')).toEqual(['CONTENT_SCRIPT_MISMATCH=cyrillic']);
    expect(await symbols(s, { message: 'Great deals at http://x.example' }, 'jp')).toEqual(['CONTENT_SCRIPT_MISMATCH=links']);
    expect(await symbols(s, { message: 'Hello, I would like a quote.' }, 'jp')).toEqual([]);
    expect(await symbols(s, { message: 'Привет. こんにちは' }, 'jp')).toEqual([]);
    expect(await symbols(s, { message: 'Привет' }, 'other')).toEqual([]);
  });
});

for (const [name, make] of [
  ['memory', () => new MemoryDuplicateStore()],
  ['redis', () => new RedisDuplicateStore(redis, `fwtest:${randomUUID()}:`)],
] as const) {
  describe(`duplicate bodies (${name})`, () => {
    it('flags the same body seen again, normalising case and whitespace, with growing weight', async () => {
      const d = createContentDefense({ duplicate: { windowSeconds: 60 } }, { duplicates: make() });
      const body = 'We can put your site on the first page of Google today.';
      expect(await symbols(d, { message: body })).toEqual([]);
      const r = await d.check(makeSubmission({ formId: 'x', fields: { message: `  ${body.toUpperCase()}\n` } }), ctx);
      expect(r).toEqual({ kind: 'flag', findings: [{ symbol: 'CONTENT_DUPLICATE', weight: 1, detail: 'seen 2 times' }] });
      await d.check(makeSubmission({ formId: 'x', fields: { message: body } }), ctx);
      await d.check(makeSubmission({ formId: 'x', fields: { message: body } }), ctx);
      const r5 = await d.check(makeSubmission({ formId: 'x', fields: { message: body } }), ctx);
      expect(r5.kind === 'flag' && r5.findings[0]?.weight).toBe(3);
      expect(await symbols(d, { message: 'ありがとう' })).toEqual([]);
      expect(await symbols(d, { message: 'ありがとう' })).toEqual([]); // too short to count
    });
  });
}

describe('duplicate window', () => {
  it('forgets after the window', async () => {
    let now = 0;
    const s = new MemoryDuplicateStore(() => now);
    expect(await s.record('h', 10)).toBe(1);
    expect(await s.record('h', 10)).toBe(2);
    now = 10_001;
    expect(await s.record('h', 10)).toBe(1);
    expect(bodyHash('A  b')).toBe(bodyHash('a b'));
  });
});
