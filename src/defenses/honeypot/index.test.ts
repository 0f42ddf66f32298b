import { describe, expect, it } from 'vitest';
import { createHoneypotDefense } from './index.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';
import { createPipeline } from '../../pipeline/runner.js';
import { DEFAULT_CATALOG } from '../../pipeline/default-catalog.js';

const ctx = createCheckContext();
const d = createHoneypotDefense({ fields: ['website', 'fax'] });
const check = (honeypot: Record<string, string | undefined>) => d.check(makeSubmission({ formId: 'f', honeypot }), ctx);

describe('honeypot', () => {
  it('passes when every trap is present and empty', async () => {
    expect(await check({ website: '', fax: '' })).toEqual({ kind: 'pass' });
  });
  it('flags filled traps (whitespace counts as filled)', async () => {
    expect(await check({ website: 'http://spam', fax: '' })).toEqual({ kind: 'flag', findings: [{ symbol: 'HONEYPOT_FILLED', detail: 'website' }] });
    expect(await check({ website: ' ', fax: '' })).toMatchObject({ findings: [{ symbol: 'HONEYPOT_FILLED' }] });
  });
  it('flags missing traps separately', async () => {
    expect(await check({ website: '' })).toEqual({ kind: 'flag', findings: [{ symbol: 'HONEYPOT_MISSING', detail: 'fax' }] });
    expect(await check({ website: 'x' })).toEqual({
      kind: 'flag',
      findings: [
        { symbol: 'HONEYPOT_FILLED', detail: 'website' },
        { symbol: 'HONEYPOT_MISSING', detail: 'fax' },
      ],
    });
  });
  it('a filled trap rejects with the default catalog; a missing one quarantines', async () => {
    const p = createPipeline({ defenses: [d], catalog: DEFAULT_CATALOG });
    expect((await p.run(makeSubmission({ formId: 'f', honeypot: { website: 'x', fax: '' } }), ctx)).verdict.action).toBe('reject');
    expect((await p.run(makeSubmission({ formId: 'f', honeypot: {} }), ctx)).verdict.action).toBe('quarantine');
  });
  it('fails fast without fields', () => {
    expect(() => createHoneypotDefense({ fields: [] })).toThrow(/honeypot.fields/);
    expect(() => createHoneypotDefense({ fields: ['a b'] })).toThrow(/fields\[0\]/);
  });
});
