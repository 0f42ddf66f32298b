import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { actionForScore, buildCatalog, compileLadder, lookupSymbol, maxAction } from './scoring.js';
import { ACTIONS } from './types.js';
import { DEFAULT_CATALOG, catalogMarkdown } from './default-catalog.js';

describe('ladder', () => {
  it('maps scores to actions at the default thresholds', () => {
    const l = compileLadder();
    expect([0, 2.99, 3, 5.9, 6, 9.99, 10, 50].map((s) => actionForScore(s, l))).toEqual([
      'accept',
      'accept',
      'accept_no_autoreply',
      'accept_no_autoreply',
      'quarantine',
      'quarantine',
      'reject',
      'reject',
    ]);
  });
  it('is monotonic: a higher score never gives a milder action', () => {
    const l = compileLadder();
    fc.assert(
      fc.property(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (s, d) => {
        return ACTIONS.indexOf(actionForScore(s + d, l)) >= ACTIONS.indexOf(actionForScore(s, l));
      }),
    );
  });
  it('maxAction picks the harsher', () => {
    expect(maxAction('accept', 'quarantine')).toBe('quarantine');
    expect(maxAction('reject', 'accept_no_autoreply')).toBe('reject');
  });
  it('rejects non-numbers', () => {
    expect(() => compileLadder({ reject: Number.NaN })).toThrow(/actions.reject/);
  });
});

describe('catalog', () => {
  it('overrides scores and descriptions; unknown symbols need a full definition', () => {
    const base = { X: { score: 1, description: { en: 'x', ja: 'エックス' } } };
    const c = buildCatalog(base, { X: 5 });
    expect(c.X).toEqual({ score: 5, description: { en: 'x', ja: 'エックス' } });
    expect(base.X.score).toBe(1);
    expect(buildCatalog(base, { X: { description: { en: 'why' } } }).X).toEqual({ score: 1, description: { en: 'why', ja: 'エックス' } });
    expect(() => buildCatalog(base, { Y: 3 })).toThrow(/symbols.Y: unknown symbol/);
    expect(buildCatalog(base, { Y: { score: 3, description: { en: 'y', ja: 'y' } } }).Y?.score).toBe(3);
  });
  it('falls back from NAME:detail to NAME', () => {
    expect(lookupSymbol({ DEFENSE_ERROR: { score: 1, description: { en: '', ja: '' } } }, 'DEFENSE_ERROR:geo')?.score).toBe(1);
  });
  it('the default catalog describes every symbol in both languages', () => {
    expect(Object.keys(DEFAULT_CATALOG).length).toBeGreaterThan(30);
    for (const [k, v] of Object.entries(DEFAULT_CATALOG)) {
      expect(k).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(Number.isFinite(v.score)).toBe(true);
      expect(v.description.en.length, k).toBeGreaterThan(5);
      expect(v.description.ja, k).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    }
  });
  it('renders as a Markdown table, one row per symbol', () => {
    const md = catalogMarkdown({ A_B: { score: 2, description: { en: 'x | y', ja: 'エー' } } });
    expect(md).toBe('| Symbol | Score | Description | 説明 |\n|---|---:|---|---|\n| `A_B` | 2 | x \\| y | エー |\n');
    expect(catalogMarkdown().trim().split('\n')).toHaveLength(Object.keys(DEFAULT_CATALOG).length + 2);
  });
});
