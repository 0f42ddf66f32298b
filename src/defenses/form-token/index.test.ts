import { describe, expect, it } from 'vitest';
import { createFormTokenDefense, createFormTokens } from './index.js';
import { MemoryReplayStore } from '../../pipeline/replay-store.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';

const secret = 'x'.repeat(40);
const t0 = new Date('2030-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);

describe('form tokens', () => {
  const tokens = createFormTokens({ secret });
  it('verifies a token once, after the minimum fill time', async () => {
    const replay = new MemoryReplayStore();
    const tok = tokens.issueToken('contact', t0);
    expect(tok).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(await tokens.verifyToken(tok, 'contact', at(10), replay)).toEqual({ ok: true, issuedAt: t0, fillSeconds: 10 });
    expect(await tokens.verifyToken(tok, 'contact', at(11), replay)).toEqual({ ok: false, reason: 'E_TOKEN_REPLAYED' });
  });
  it('reports missing, too fast, expired, wrong form', async () => {
    const replay = new MemoryReplayStore();
    const tok = tokens.issueToken('contact', t0);
    expect(await tokens.verifyToken(undefined, 'contact', at(10), replay)).toEqual({ ok: false, reason: 'E_TOKEN_MISSING' });
    expect(await tokens.verifyToken(tok, 'contact', at(1), replay)).toMatchObject({ ok: false, reason: 'E_TOKEN_TOO_FAST' });
    expect(await tokens.verifyToken(tok, 'contact', at(3601), replay)).toMatchObject({ ok: false, reason: 'E_TOKEN_EXPIRED' });
    expect(await tokens.verifyToken(tok, 'other', at(10), replay)).toMatchObject({ ok: false, reason: 'E_TOKEN_WRONG_FORM' });
    // none of the failures above consumed the token
    expect(await tokens.verifyToken(tok, 'contact', at(10), replay)).toMatchObject({ ok: true });
  });
  it('rejects forged and tampered tokens; one from the future (the clock went back) counts as expired', async () => {
    const replay = new MemoryReplayStore();
    const tok = tokens.issueToken('contact', t0);
    const [p, mac] = tok.split('.') as [string, string];
    const other = createFormTokens({ secret: 'y'.repeat(40) }).issueToken('contact', t0);
    expect(await tokens.verifyToken(other, 'contact', at(10), replay)).toMatchObject({ reason: 'E_TOKEN_INVALID' });
    const forgedPayload = Buffer.from(Buffer.from(p, 'base64url').toString().replace('contact', 'contacT')).toString('base64url');
    expect(await tokens.verifyToken(`${forgedPayload}.${mac}`, 'contacT', at(10), replay)).toMatchObject({ reason: 'E_TOKEN_INVALID' });
    expect(await tokens.verifyToken('garbage', 'contact', at(10), replay)).toMatchObject({ reason: 'E_TOKEN_INVALID' });
    expect(await tokens.verifyToken(`${p}.`, 'contact', at(10), replay)).toMatchObject({ reason: 'E_TOKEN_INVALID' });
    const future = tokens.issueToken('contact', at(3600));
    expect(await tokens.verifyToken(future, 'contact', at(10), replay)).toMatchObject({ reason: 'E_TOKEN_EXPIRED', detail: 'issued in the future (the clock went back)' });
  });
  it('rotates keys: old tokens verify while the new key signs', async () => {
    const oldTok = tokens.issueToken('contact', t0);
    const rotated = createFormTokens({ secret: ['n'.repeat(40), secret] });
    expect(await rotated.verifyToken(oldTok, 'contact', at(10), new MemoryReplayStore())).toMatchObject({ ok: true });
    const newTok = rotated.issueToken('contact', t0);
    expect(await tokens.verifyToken(newTok, 'contact', at(10), new MemoryReplayStore())).toMatchObject({ reason: 'E_TOKEN_INVALID' });
  });
  it('honours configured limits and fails fast on a short secret', async () => {
    const strict = createFormTokens({ secret, minFillSeconds: 20, maxAgeMinutes: 1 });
    const tok = strict.issueToken('c', t0);
    expect(await strict.verifyToken(tok, 'c', at(10), new MemoryReplayStore())).toMatchObject({ reason: 'E_TOKEN_TOO_FAST' });
    expect(await strict.verifyToken(tok, 'c', at(61), new MemoryReplayStore())).toMatchObject({ reason: 'E_TOKEN_EXPIRED' });
    expect(() => createFormTokens({ secret: 'short' })).toThrow(/at least 32/);
    expect(() => strict.issueToken('a.b', t0)).toThrow(/not a form id/);
  });
});

describe('form-token defense', () => {
  it('emits symbols per reason', async () => {
    const d = createFormTokenDefense({ secret });
    let now = t0;
    const ctx = createCheckContext({ clock: () => now });
    const tok = d.issueToken('contact', t0);
    now = at(1);
    expect(await d.check(makeSubmission({ formId: 'contact', token: tok }), ctx)).toMatchObject({ kind: 'flag', findings: [{ symbol: 'TOKEN_TOO_FAST' }] });
    now = at(30);
    expect(await d.check(makeSubmission({ formId: 'contact', token: tok }), ctx)).toEqual({ kind: 'pass' });
    expect(await d.check(makeSubmission({ formId: 'contact', token: tok }), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'TOKEN_REPLAYED' }] });
    expect(await d.check(makeSubmission({ formId: 'contact' }), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'TOKEN_MISSING' }] });
  });
  it('missing: reject makes a missing token a final reject', async () => {
    const d = createFormTokenDefense({ secret, missing: 'reject' });
    expect(await d.check(makeSubmission({ formId: 'contact' }), createCheckContext())).toEqual({
      kind: 'final',
      action: 'reject',
      reason: 'E_TOKEN_MISSING',
      findings: [{ symbol: 'TOKEN_MISSING' }],
    });
    expect(() => createFormTokenDefense({ secret, missing: 'maybe' as never })).toThrow(/formToken.missing/);
  });
});
