import { describe, expect, it } from 'vitest';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { createAltchaDefense } from './index.js';
import { MemoryReplayStore } from '../../pipeline/replay-store.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';

const secret = 's'.repeat(40);
// Cheap settings so the solver finishes at once; nothing here measures time.
const cheap = { hmacSecret: secret, algorithm: 'SHA-256' as const, cost: 1, minNumber: 10, maxNumber: 20 };

async function solve(challenge: Challenge): Promise<string> {
  const solution = await solveChallenge({ challenge, deriveKey });
  if (!solution) throw new Error('unsolved');
  return Buffer.from(JSON.stringify({ challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution })).toString('base64');
}

describe('altcha', () => {
  it('verifies a solved challenge once', async () => {
    const d = createAltchaDefense(cheap);
    const payload = await solve(await d.createChallenge('contact'));
    const replay = new MemoryReplayStore();
    expect(await d.verify(payload, 'contact', replay)).toEqual({ ok: true });
    expect(await d.verify(payload, 'contact', replay)).toEqual({ ok: false, reason: 'E_ALTCHA_REPLAYED' });
  });

  it('a missing solution is a scored symbol, not a hard reject', async () => {
    const d = createAltchaDefense(cheap);
    expect(await d.check(makeSubmission({ formId: 'contact' }), createCheckContext())).toEqual({ kind: 'flag', findings: [{ symbol: 'ALTCHA_MISSING' }] });
  });

  it('rejects tampered, foreign and malformed payloads', async () => {
    const d = createAltchaDefense(cheap);
    const replay = new MemoryReplayStore();
    const challenge = await d.createChallenge('contact');
    const payload = await solve(challenge);
    expect(await d.verify(payload, 'other-form', replay)).toMatchObject({ ok: false, reason: 'E_ALTCHA_INVALID', detail: 'another form' });
    const o = JSON.parse(Buffer.from(payload, 'base64').toString());
    o.challenge.parameters.data.formId = 'other-form';
    expect(await d.verify(Buffer.from(JSON.stringify(o)).toString('base64'), 'other-form', replay)).toMatchObject({ reason: 'E_ALTCHA_INVALID', detail: 'signature' });
    const wrong = JSON.parse(Buffer.from(payload, 'base64').toString());
    wrong.solution.derivedKey = '00'.repeat(32);
    expect(await d.verify(JSON.stringify(wrong), 'contact', replay)).toMatchObject({ reason: 'E_ALTCHA_INVALID', detail: 'solution' });
    expect(await d.verify('not base64 json', 'contact', replay)).toMatchObject({ reason: 'E_ALTCHA_INVALID', detail: 'malformed' });
    const other = createAltchaDefense({ ...cheap, hmacSecret: 'o'.repeat(40) });
    expect(await other.verify(payload, 'contact', replay)).toMatchObject({ reason: 'E_ALTCHA_INVALID' });
    // the failures did not burn the genuine payload
    expect(await d.verify(payload, 'contact', replay)).toEqual({ ok: true });
  });

  it('reports expired challenges, judged by the injected clock', async () => {
    let now = Date.now() - 3600_000;
    const d = createAltchaDefense({ ...cheap, expiresSeconds: 60 }, { clock: () => new Date(now) });
    const payload = await solve(await d.createChallenge('contact'));
    now += 59_000;
    expect(await d.verify(payload, 'contact', new MemoryReplayStore())).toEqual({ ok: true });
    const again = await solve(await d.createChallenge('contact'));
    now += 61_000;
    expect(await d.verify(again, 'contact', new MemoryReplayStore())).toEqual({ ok: false, reason: 'E_ALTCHA_EXPIRED' });
  });

  it('the raised hook multiplies the counter range the solver must cover', async () => {
    let factor = 1;
    const d = createAltchaDefense(cheap, { raised: (formId) => (formId === 'contact' ? factor : 1) });
    expect(d.difficulty('contact')).toMatchObject({ minNumber: 10, maxNumber: 20 });
    factor = 5;
    expect(d.difficulty('contact')).toMatchObject({ minNumber: 50, maxNumber: 100 });
    expect(d.difficulty('other')).toMatchObject({ minNumber: 10, maxNumber: 20 });
    const c = await d.createChallenge('contact');
    const solution = await solveChallenge({ challenge: c, deriveKey });
    expect(solution!.counter).toBeGreaterThanOrEqual(50);
    expect(solution!.counter).toBeLessThanOrEqual(100);
    factor = Number.NaN;
    expect(d.difficulty('contact').maxNumber).toBe(20);
  });

  it('fails fast on bad config', () => {
    expect(() => createAltchaDefense({ hmacSecret: 'short' })).toThrow(/hmacSecret/);
    expect(() => createAltchaDefense({ ...cheap, algorithm: 'MD5' as never })).toThrow(/algorithm/);
    expect(() => createAltchaDefense({ ...cheap, minNumber: 30 })).toThrow(/maxNumber/);
  });
});
