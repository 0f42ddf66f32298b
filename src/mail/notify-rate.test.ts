// The in-process digest threshold (MemoryNotifyRate, src/mail/digest.ts): within any hour, a form gets at most
// `threshold` individual notifications; the rest go to the digest. Checked against a plain model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryNotifyRate } from './digest.js';

const HOUR = 3_600_000;

/** The rule written out: the notifications counted in the hour before `now`, per form. */
class Model {
  private readonly sent = new Map<string, number[]>();
  constructor(private readonly threshold: number) {}
  overOrCount(formId: string, now: number): boolean {
    const inHour = (this.sent.get(formId) ?? []).filter((t) => t > now - HOUR);
    if (inHour.length >= this.threshold) {
      this.sent.set(formId, inHour);
      return true;
    }
    this.sent.set(formId, [...inHour, now]);
    return false;
  }
}

describe('MemoryNotifyRate', () => {
  it('answers as the model for any forms, threshold and times (out of order by up to 0.3 s, gaps past the hour)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.constantFrom('contact', 'quote', 'job'), fc.integer({ min: -60_000, max: 2 * HOUR })), { minLength: 1, maxLength: 200 }),
        (threshold, steps) => {
          const rate = new MemoryNotifyRate(threshold);
          const model = new Model(threshold);
          let clock = 1_800_000_000_000;
          for (const [form, step] of steps) {
            // Mostly small steps; a negative one is a post whose time was taken before the previous one's.
            clock += step > HOUR ? step : Math.floor(step / 200);
            expect(rate.overOrCount(form, clock)).toBe(model.overOrCount(form, clock));
          }
        },
      ),
    );
  });

  it('lets `threshold` notifications through in an hour, then none until the first of them is an hour old', () => {
    const rate = new MemoryNotifyRate(3);
    const t0 = 1_800_000_000_000;
    expect([0, 1, 2, 3, 4].map((i) => rate.overOrCount('contact', t0 + i * 1000))).toEqual([false, false, false, true, true]);
    expect(rate.overOrCount('other', t0 + 5000)).toBe(false);
    expect(rate.overOrCount('contact', t0 + HOUR - 1)).toBe(true);
    expect(rate.overOrCount('contact', t0 + HOUR)).toBe(false);
  });
});
