// Identifiers (src/util/id.ts): sortable by time, unguessable, and always of the one documented shape.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALPHABET, newId } from './id.js';

/** The reference: what an id for `now` starts with, written out the plain way. */
function timePart(now: number): string {
  let out = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

describe('newId', () => {
  it('is the prefix, then 10 characters of time and 12 random ones from the alphabet, for any time and in any order of calls', () => {
    const shape = new RegExp(`^([a-z]+)_([${ALPHABET}]{10})([${ALPHABET}]{12})$`);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('s', 'm', 'sub'), fc.integer({ min: 0, max: 2 ** 50 - 1 })), { minLength: 1, maxLength: 20 }), (calls) => {
        for (const [prefix, now] of calls) {
          const m = shape.exec(newId(prefix, now));
          expect(m?.[1]).toBe(prefix);
          expect(m?.[2]).toBe(timePart(now));
        }
      }),
    );
  });

  it('sorts by time, and ids of one millisecond differ', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newId('s', 1_700_000_000_000 + Math.floor(i / 100)));
    expect([...ids].sort((a, b) => a.slice(0, 12).localeCompare(b.slice(0, 12)))).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // Every character of the random part is drawn: all 32 appear across 2000 ids.
    expect(new Set(ids.flatMap((id) => [...id.slice(12)])).size).toBe(32);
  });
});
