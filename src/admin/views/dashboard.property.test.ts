// The dashboard is escaped by construction: text that came from outside (a bounce's reason, a breaker
// reason, a client network, a form title, a symbol name and label) adds no tag and leaves no attribute, in
// the tables or in the SVG. The count of '<' and '"' in the page does not depend on the values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DashboardData } from '../dashboard.js';
import { dashboardPage, type DashboardView } from './dashboard.js';

const hostile = fc
  .array(fc.oneof(fc.constantFrom('<', '>', '"', "'", '&', '</title>', '</svg>', '<script>', '" onmouseover="x', '\u202E', '\u2066', '&lt;', '\u0000', ']]>'), fc.string({ unit: 'grapheme', maxLength: 6 })), { maxLength: 10 })
  .map((p) => `a${p.join('')}`);

const count = (s: string, ch: string) => s.split(ch).length - 1;
const zero = { accept: 0, accept_no_autoreply: 0, quarantine: 0, reject: 0 };

function data(v: (i: number) => string): DashboardData {
  return {
    generatedAt: 0,
    timeZone: 'Asia/Tokyo',
    owner: true,
    hourly: [{ start: 0, label: '2026-01-01 09:00', counts: { ...zero, accept: 3, reject: 1 } }],
    daily: [{ start: 0, label: '2026-01-01', counts: { ...zero, quarantine: 2 } }],
    caps: [
      { scope: 'form-hour', form: v(0), used: 3, limit: 20, windowSeconds: 3600 },
      { scope: 'address', used: 1, limit: 1, windowSeconds: 86400, atLimit: 1 },
    ],
    bounces: { total: 3, byReason: [{ key: v(1), count: 2 }, { key: 'complaint', count: 1 }], byOrigin: [{ key: v(2), count: 3 }] },
    breaker: {
      now: [{ scope: `form:${v(3)}`, state: v(4), reason: v(5), trippedAt: 0, retryAt: null }],
      history: [{ at: 0, scope: v(6), reason: v(7) }],
      perDay: [{ start: 0, label: '2026-01-01', count: 1 }],
    },
    symbols: [{ symbol: v(8), count: 4 }],
    networks: [{ network: v(9), count: 2, country: v(10) }],
    countries: [{ country: v(11), count: 2 }],
    sample: { rows: 5, limit: 5000 },
  };
}

const view = (v: (i: number) => string): DashboardView => ({ formTitle: () => v(12), symbolLabel: () => v(13), cacheSeconds: 15 });

describe('the dashboard page', () => {
  it('property: no outside value adds a tag or leaves an attribute', () => {
    const blank = dashboardPage('ja', data(() => 'a'), view(() => 'a')).value;
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 14, maxLength: 14 }), fc.constantFrom('ja' as const, 'en' as const), (values, lang) => {
        const base = lang === 'ja' ? blank : dashboardPage('en', data(() => 'a'), view(() => 'a')).value;
        const page = dashboardPage(lang, data((i) => values[i]!), view((i) => values[i]!)).value;
        expect(count(page, '<')).toBe(count(base, '<'));
        expect(count(page, '"')).toBe(count(base, '"'));
        // No event-handler attribute (attribute values are skipped whole: escaped text inside them is text).
        expect(page).not.toMatch(/<script|<[a-z]+(?:\s+[\w-]+(?:="[^"]*")?)*\s+on\w+=/i);
      }),
      { numRuns: 150 },
    );
  });
});
