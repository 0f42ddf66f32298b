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

describe('missing: accept (a plain HTML form)', () => {
  // Imported here so the block reads on its own.
  const pipelineFor = async () => {
    const { createPipeline, DEFAULT_CATALOG } = await import('../../pipeline/index.js');
    const { createHoneypotDefense } = await import('../honeypot/index.js');
    const token = createFormTokenDefense({ secret, missing: 'accept' });
    return { token, pipeline: createPipeline({ defenses: [createHoneypotDefense({ fields: ['website'] }), token], catalog: DEFAULT_CATALOG }) };
  };

  it('a missing token is NO_PROOF with the floor accept_no_autoreply; it stands for the missing honeypot', async () => {
    const { pipeline } = await pipelineFor();
    const r = await pipeline.run(makeSubmission({ formId: 'contact', honeypot: {} }), createCheckContext());
    expect(r.verdict.symbols.map((f) => f.symbol)).toEqual(['NO_PROOF']);
    expect(r.verdict).toMatchObject({ action: 'accept_no_autoreply', score: 1 });
    expect(r.verdict.finalReason).toBeUndefined();
  });

  it('a filled honeypot still counts beside NO_PROOF; a present token is checked as always', async () => {
    const { pipeline, token } = await pipelineFor();
    const bot = await pipeline.run(makeSubmission({ formId: 'contact', honeypot: { website: 'http://spam.example' } }), createCheckContext());
    expect(bot.verdict.symbols.map((f) => f.symbol).sort()).toEqual(['HONEYPOT_FILLED', 'NO_PROOF']);
    expect(bot.verdict.action).toBe('reject');
    let now = t0;
    const ctx = createCheckContext({ clock: () => now });
    const tok = token.issueToken('contact', t0);
    now = at(30);
    const person = await pipeline.run(makeSubmission({ formId: 'contact', token: tok, honeypot: { website: '' } }), ctx);
    expect(person.verdict).toMatchObject({ action: 'accept', score: 0, symbols: [] });
    expect((await pipeline.run(makeSubmission({ formId: 'contact', token: 'forged.x', honeypot: { website: '' } }), ctx)).verdict.symbols.map((f) => f.symbol)).toEqual(['TOKEN_INVALID']);
  });

  it('the factory names the three policies', () => {
    expect(() => createFormTokenDefense({ secret, missing: 'maybe' as never })).toThrow(/use accept, flag or reject/);
  });
});
