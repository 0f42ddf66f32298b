import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zonedDayStart } from './zoned-day.js';

describe('zonedDayStart', () => {
  it('is midnight of that day in the zone, across zones and DST changes', () => {
    expect(new Date(zonedDayStart('2026-12-05', 'Asia/Tokyo')!).toISOString()).toBe('2026-12-04T15:00:00.000Z');
    expect(new Date(zonedDayStart('2026-12-05', 'UTC')!).toISOString()).toBe('2026-12-05T00:00:00.000Z');
    expect(new Date(zonedDayStart('2026-03-08', 'America/New_York')!).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(new Date(zonedDayStart('2026-03-09', 'America/New_York')!).toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(zonedDayStart('2026-02-30', 'UTC')).toBeNull();
    expect(zonedDayStart('2026-1-5', 'UTC')).toBeNull();
  });

  it('property: the result reads back as 00:00 of the same day in the zone', () => {
    const zones = ['Asia/Tokyo', 'UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham'];
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }), fc.constantFrom(...zones), (d, tz) => {
        const ymd = d.toISOString().slice(0, 10);
        const t = zonedDayStart(ymd, tz)!;
        const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(t);
        expect(parts).toBe(`${ymd}, 00:00`);
      }),
      { numRuns: 300 },
    );
  });
});
