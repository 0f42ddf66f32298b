// formatInZone asks Intl once per quarter hour and computes the digits itself: it must read exactly as
// Intl's own formatting of that moment, in every zone (DST changes, half-hour and 45-minute offsets).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInZone } from './template.js';

function direct(at: Date, timeZone: string, lang: 'ja' | 'en'): string {
  const f = new Intl.DateTimeFormat(lang === 'ja' ? 'ja-JP' : 'en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

describe('formatInZone', () => {
  it('reads as people in the zone read it', () => {
    expect(formatInZone(new Date('2026-12-04T01:02:03Z'), 'Asia/Tokyo', 'ja')).toBe('2026-12-04 10:02:03 JST');
    expect(formatInZone(new Date('2026-12-04T01:02:03Z'), 'UTC', 'en')).toBe('2026-12-04 01:02:03 UTC');
  });

  it('property: equals Intl formatting of the moment, across DST changes and odd offsets', () => {
    const zones = ['Asia/Tokyo', 'UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/Santiago'];
    fc.assert(
      fc.property(fc.date({ min: new Date('1990-01-01'), max: new Date('2060-12-31'), noInvalidDate: true }), fc.constantFrom(...zones), fc.constantFrom('ja' as const, 'en' as const), (d, tz, lang) => {
        expect(formatInZone(d, tz, lang)).toBe(direct(d, tz, lang));
      }),
      { numRuns: 2000 },
    );
    // Around a DST change, second by second over a quarter hour's edges.
    for (const edge of ['2026-03-08T06:59:58Z', '2026-11-01T05:59:58Z']) {
      for (let i = 0; i < 5; i++) {
        const d = new Date(Date.parse(edge) + i * 1000);
        expect(formatInZone(d, 'America/New_York', 'en')).toBe(direct(d, 'America/New_York', 'en'));
      }
    }
  });
});
