// The shared CLI table (submissions list, mail list, suppress list, status, ...) prints outside text: whatever
// a visitor or a bounce put in a cell, the terminal gets no control character and one line per row.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostileText, TERMINAL_CONTROL } from '../../test/support/hostile-text.js';
import { table } from './table.js';

describe('table', () => {
  it('neutralises control characters and bidi overrides in every cell and keeps one line per row', () => {
    fc.assert(
      fc.property(fc.array(fc.array(hostileText, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 8 }), (rows) => {
        const out = table(['id', 'to', 'subject'], rows);
        expect(out).not.toMatch(TERMINAL_CONTROL);
        expect(out.trimEnd().split('\n')).toHaveLength(rows.length + 2);
      }),
    );
  });

  it('keeps Japanese and ordinary text as it is', () => {
    expect(table(['to', 'subject'], [['田中 <tanaka@example.jp>', 'お問い合わせ ありがとうございます']])).toContain('お問い合わせ ありがとうございます');
  });
});
