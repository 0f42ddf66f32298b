// The instance budget (issue 10, class 8): by default it is below what every form's caps add up to, so a
// bot spreading over all forms cannot take forms x caps; check-config warns when a budget set by hand is not.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { budgetWarnings } from './check-config.js';

function yaml(forms: { perFormHour?: number | null; perFormDay?: number | null; enabled?: boolean }[], budget = ''): string {
  const list = forms
    .map((f, i) => {
      const caps = [f.perFormHour !== undefined ? `perFormHour: ${f.perFormHour}` : '', f.perFormDay !== undefined ? `perFormDay: ${f.perFormDay}` : ''].filter(Boolean).join(', ');
      return `
  - id: form${i}
    title: Form ${i}
    fields: [{ name: email, type: email, required: true }]
    notify: { to: [owner@example.jp] }
    autoreply: { enabled: ${f.enabled ?? true}, subject: "Thanks", body: "Receipt {{receipt_id}}"${caps ? `, caps: { ${caps} }` : ''} }`;
    })
    .join('');
  return `mail: { from: "Shop <info@example.jp>"${budget ? `, autoreplyBudget: ${budget}` : ''} }\nforms:${list}\n`;
}

describe('instance budget', () => {
  it('one form: the budget is its own caps (20 an hour, 100 a day), no warning', () => {
    const c = parseConfigText(yaml([{}]), 'test');
    expect(c.mail.autoreplyBudget).toEqual({ perHour: 20, perDay: 100 });
    expect(budgetWarnings(c)).toEqual([]);
  });

  it('ten forms with the default caps: 100 an hour and 500 a day, below 10 x 20 and 10 x 100', () => {
    const c = parseConfigText(yaml(Array(10).fill({})), 'test');
    expect(c.mail.autoreplyBudget).toEqual({ perHour: 100, perDay: 500 });
    expect(budgetWarnings(c)).toEqual([]);
  });

  it('property: unset, it is below the sum of the forms caps (2+ forms), at least the largest, at most 200/1000; never warned about', () => {
    const cap = fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined });
    fc.assert(
      fc.property(fc.array(fc.record({ perFormHour: cap, perFormDay: cap }), { minLength: 1, maxLength: 12 }), (forms) => {
        const c = parseConfigText(yaml(forms), 'test');
        const b = c.mail.autoreplyBudget;
        const day = forms.map((f) => f.perFormDay ?? 100);
        const hour = forms.map((f) => Math.min(f.perFormHour ?? 20, f.perFormDay ?? 100));
        const sum = (l: number[]) => l.reduce((a, x) => a + x, 0);
        expect(b.perDay).toBeLessThanOrEqual(1000);
        expect(b.perHour).toBeLessThanOrEqual(200);
        expect(b.perDay).toBe(Math.min(1000, Math.max(...day, Math.ceil(sum(day) / 2))));
        expect(b.perHour).toBe(Math.min(200, Math.max(...hour, Math.ceil(sum(hour) / 2))));
        if (forms.length >= 2) {
          expect(b.perDay).toBeLessThan(sum(day));
          expect(b.perHour).toBeLessThan(sum(hour));
        }
        expect(budgetWarnings(c)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('check-config warns when a budget set by hand is at or above forms x per-form cap, in English and Japanese', () => {
    const c = parseConfigText(yaml(Array(10).fill({}), '{ perDay: 1000 }'), 'test');
    expect(c.mail.autoreplyBudget).toEqual({ perHour: 100, perDay: 1000 });
    const w = budgetWarnings(c);
    expect(w).toHaveLength(1);
    expect(w[0]).toContain("mail.autoreplyBudget.perDay (1000) is not below what the 10 forms' caps add up to (1000 a day)");
    expect(w[0]).toContain('the default is 500');
    expect(w[0]).toContain('全フォームに分散するボット');
    expect(budgetWarnings(parseConfigText(yaml(Array(10).fill({}), '{ perDay: 999, perHour: 200 }'), 'test')).map((x) => x.slice(0, 30))).toEqual(['mail.autoreplyBudget.perHour (']);
    // A form whose auto-reply is off sends nothing to strangers and is not counted.
    expect(budgetWarnings(parseConfigText(yaml([{}, { enabled: false }], '{ perDay: 1000 }'), 'test'))).toEqual([]);
  });
});
