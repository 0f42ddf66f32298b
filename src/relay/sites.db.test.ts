// Sites (config sites:): one abused site cannot use up or trip another's auto-replies, and a token issued
// for a form of one site is worth nothing on another's. Forms a1, a2 belong to site alpha, b1 to beta,
// contact to no site (the instance's defaults).
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey as altchaDeriveKey } from 'altcha-lib/algorithms/sha';
import { describe, expect, it } from 'vitest';
import { createAltchaDefense } from '../defenses/altcha/index.js';
import { createFormTokens } from '../defenses/form-token/index.js';
import { deriveKey } from '../defenses/setup.js';
import { MemoryReplayStore } from '../pipeline/index.js';
import { dbUnavailable } from '../../test/support/db.js';
import { BASE_FORM, OPEN_DEFENSES, TEST_DEFENSES, startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';

const ALPHA_KEY = 'alpha-site-token-key-0123456789-abcdefghijkl';
const form = (id: string, owner: string, delay = '0s') =>
  BASE_FORM.replace('id: contact', `id: ${id}`).replace('owner@example.jp', owner).replace('delay: 0s', `delay: ${delay}`);
const FORMS = (delay = '0s') =>
  form('a1', 'owner@alpha.example', delay) + form('a2', 'owner@alpha.example', delay) + form('b1', 'owner@beta.example', delay) + form('contact', 'owner@example.jp', delay);
const SITES = `
sites:
  - id: alpha
    forms: [a1, a2]
    autoreplyBudget: { perHour: 4, perDay: 10 }
    mail: { from: "Alpha Shop <info@alpha.example>", replyTo: desk@alpha.example, envelopeFrom: bounces@alpha.example }
    secrets: { tokenKey: "${ALPHA_KEY}" }
  - id: beta
    forms: [b1]
`;

async function post(t: TestInstance, clock: ManualClock, formId: string, i: number): Promise<string> {
  clock.advance(1000);
  const token = t.instance.defenses.tokens.issueToken(formId, clock.now());
  const res = await fetch(`${t.url}/api/forms/${formId}/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `192.0.2.${i % 250}` },
    body: JSON.stringify({ name: `Visitor ${i}`, email: `v${i}@d${i}.example`, message: `Hello number ${i}`, _token: token, website: '' }),
  });
  expect(res.status).toBe(201);
  const k = t.instance.db.kysely;
  const row = await k.selectFrom('submissions').select('autoreply').orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirstOrThrow();
  return row.autoreply;
}

describe.skipIf(dbUnavailable())('sites', () => {
  it("site alpha flooded until its budget is used: beta's and the instance forms' auto-replies still go out, as each site's sender", async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 10, 9, 0, 0));
    const t = await startTestInstance({ clock, startWorker: false, defenses: OPEN_DEFENSES, forms: FORMS(), extra: SITES });
    try {
      const alpha: string[] = [];
      for (let i = 0; i < 10; i++) alpha.push(await post(t, clock, i % 2 ? 'a2' : 'a1', i));
      expect(alpha.filter((s) => s === 'queued')).toHaveLength(4);
      expect(alpha.slice(4).every((s) => s === 'skipped:cap:site-hour')).toBe(true);
      for (let i = 100; i < 105; i++) expect(await post(t, clock, 'b1', i)).toBe('queued');
      for (let i = 200; i < 203; i++) expect(await post(t, clock, 'contact', i)).toBe('queued');

      await t.instance.worker.drain();
      const k = t.instance.db.kysely;
      const sent = await k.selectFrom('outbox').select(['form_id', 'kind', 'raw', 'state']).where('kind', 'in', ['autoreply', 'notify']).execute();
      expect(sent.every((m) => m.state === 'sent')).toBe(true);
      const header = (raw: string | null, name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(raw ?? '')?.[1] ?? '';
      for (const m of sent) {
        if (m.form_id === 'a1' || m.form_id === 'a2') {
          expect(header(m.raw, 'From')).toBe('Alpha Shop <info@alpha.example>');
          expect(header(m.raw, 'Message-ID')).toMatch(/@alpha\.example>$/);
          if (m.kind === 'autoreply') expect(header(m.raw, 'Reply-To')).toBe('desk@alpha.example');
        } else {
          expect(header(m.raw, 'From')).toBe('Example Shop <info@example.jp>');
          expect(header(m.raw, 'Reply-To')).not.toBe('desk@alpha.example');
        }
      }
    } finally {
      await t.close();
    }
  });

  it("alpha's breaker tripping (its forms together over the instance limits) leaves beta's and the instance forms' auto-replies; alpha's owners are alerted", async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 10, 9, 0, 0));
    const t = await startTestInstance({
      clock,
      startWorker: false,
      defenses: OPEN_DEFENSES,
      forms: FORMS('2m'),
      extra: `${SITES.replace('perHour: 4', 'perHour: 40')}
monitor: { windowSeconds: 600, coolDownSeconds: 1800, minSample: 1000, form: { submissions: 50 }, instance: { submissions: 5 } }`,
    });
    const k = t.instance.db.kysely;
    try {
      for (let i = 0; i < 6; i++) expect(await post(t, clock, i % 2 ? 'a2' : 'a1', i)).toBe('queued');
      for (let i = 100; i < 103; i++) expect(await post(t, clock, 'b1', i)).toBe('queued');
      for (let i = 200; i < 202; i++) expect(await post(t, clock, 'contact', i)).toBe('queued');
      const trips = await t.instance.monitor.tick();
      expect(trips.filter((x) => x.kind === 'breaker').map((x) => x.scope)).toEqual(['site:alpha']);
      const m = t.instance.monitor;
      expect([m.isOpen('a1'), m.isOpen('a2'), m.isOpen('b1'), m.isOpen('contact')]).toEqual([true, true, false, false]);

      // Alpha's waiting auto-replies were cancelled; beta's and the instance form's still wait to go out.
      const pending = await k.selectFrom('outbox').select(['form_id', 'state']).where('kind', '=', 'autoreply').execute();
      for (const p of pending) expect(p.state).toBe(p.form_id === 'a1' || p.form_id === 'a2' ? 'cancelled' : 'pending');
      expect(await post(t, clock, 'a1', 50)).toBe('skipped:breaker');
      expect(await post(t, clock, 'b1', 150)).toBe('queued');
      expect(await post(t, clock, 'contact', 250)).toBe('queued');
      // The owner path stays open: alpha's notifications are still queued, and alpha's owners get the alert.
      const alerts = await k.selectFrom('outbox').select('to_addr').where('kind', '=', 'alert').execute();
      expect(alerts.map((a) => a.to_addr)).toEqual(['owner@alpha.example']);
      const notes = await k.selectFrom('outbox').select('form_id').where('kind', '=', 'notify').where('form_id', '=', 'a1').execute();
      expect(notes.length).toBeGreaterThanOrEqual(4);
    } finally {
      await t.close();
    }
  });

  it("a token for a form of one site fails on another's: each site signs with its own key", async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 10, 9, 0, 0));
    const t = await startTestInstance({ clock, startWorker: false, defenses: OPEN_DEFENSES, forms: FORMS(), extra: SITES });
    try {
      const tokens = t.instance.defenses.tokens;
      const verify = (token: string, formId: string) => tokens.verifyToken(token, formId, clock.now(), new MemoryReplayStore());
      const mint = (key: string, formId: string) => createFormTokens({ secret: deriveKey(key, 'form-token') }).issueToken(formId, new Date(clock.now().getTime() - 10_000));
      // Issued by the server for a1 (alpha): good on a1, bad signature on b1 (beta) and on contact.
      const a1 = tokens.issueToken('a1', new Date(clock.now().getTime() - 10_000));
      expect((await verify(a1, 'a1')).ok).toBe(true);
      expect(await verify(a1, 'b1')).toMatchObject({ ok: false, reason: 'E_TOKEN_INVALID' });
      expect(await verify(a1, 'contact')).toMatchObject({ ok: false, reason: 'E_TOKEN_INVALID' });
      // Alpha's key (its customer may hold it) signs alpha's forms only; the instance key no site's.
      expect((await verify(mint(ALPHA_KEY, 'a2'), 'a2')).ok).toBe(true);
      expect(await verify(mint(ALPHA_KEY, 'b1'), 'b1')).toMatchObject({ ok: false, reason: 'E_TOKEN_INVALID' });
      expect(await verify(mint(ALPHA_KEY, 'contact'), 'contact')).toMatchObject({ ok: false, reason: 'E_TOKEN_INVALID' });
      expect(await verify(mint(t.instance.secrets.tokenKey, 'b1'), 'b1')).toMatchObject({ ok: false, reason: 'E_TOKEN_INVALID' });
      expect((await verify(mint(t.instance.secrets.tokenKey, 'contact'), 'contact')).ok).toBe(true);
      // Over HTTP: beta's form refuses alpha's token (stored as scored, no auto-reply).
      const res = await fetch(`${t.url}/api/forms/b1/submissions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Bot', email: 'v1@d1.example', message: 'Hello there', _token: a1, website: '' }),
      });
      const row = await t.instance.db.kysely.selectFrom('submissions').select(['verdict', 'autoreply']).where('form_id', '=', 'b1').executeTakeFirstOrThrow();
      expect(res.status).toBe(201);
      expect(JSON.parse(row.verdict).symbols).toEqual([{ symbol: 'TOKEN_INVALID', score: 10, detail: 'bad signature' }]);
      expect(row.autoreply).toBe('skipped:reject');
    } finally {
      await t.close();
    }
  });

  it("a proof-of-work challenge is signed with its site's key: alpha's key makes challenges for alpha's forms only", async () => {
    const defenses = TEST_DEFENSES.replace('altcha: { cost: 10,', "altcha: { algorithm: 'SHA-256', cost: 10,");
    expect(defenses).not.toBe(TEST_DEFENSES);
    const t = await startTestInstance({ startWorker: false, defenses, forms: FORMS(), extra: SITES });
    try {
      const altcha = t.instance.defenses.altcha!;
      const solve = async (challenge: Challenge) => {
        const solution = await solveChallenge({ challenge, deriveKey: altchaDeriveKey });
        if (!solution) throw new Error('unsolved');
        return Buffer.from(JSON.stringify({ challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution })).toString('base64');
      };
      const withKey = (key: string) => createAltchaDefense({ hmacSecret: deriveKey(key, 'altcha'), algorithm: 'SHA-256', cost: 10, minNumber: 5, maxNumber: 40 });
      // The server's own challenge for a1 verifies on a1 only.
      const a1 = await solve(await altcha.createChallenge('a1'));
      expect(altcha.inspect(a1, 'a1').ok).toBe(true);
      expect(altcha.inspect(a1, 'b1').ok).toBe(false);
      // Alpha's key signs good challenges for a2, none for b1 or contact; the instance key none for a site's form.
      expect(altcha.inspect(await solve(await withKey(ALPHA_KEY).createChallenge('a2')), 'a2').ok).toBe(true);
      expect(altcha.inspect(await solve(await withKey(ALPHA_KEY).createChallenge('b1')), 'b1')).toMatchObject({ ok: false, reason: 'E_ALTCHA_INVALID' });
      expect(altcha.inspect(await solve(await withKey(ALPHA_KEY).createChallenge('contact')), 'contact')).toMatchObject({ ok: false, reason: 'E_ALTCHA_INVALID' });
      expect(altcha.inspect(await solve(await withKey(t.instance.secrets.tokenKey).createChallenge('b1')), 'b1')).toMatchObject({ ok: false, reason: 'E_ALTCHA_INVALID' });
      expect(altcha.inspect(await solve(await withKey(t.instance.secrets.tokenKey).createChallenge('contact')), 'contact').ok).toBe(true);
    } finally {
      await t.close();
    }
  });
});
