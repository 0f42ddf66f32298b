// Load shedding (server.loadShedding): under pressure, posts that carry no proof (a well-signed form
// token and proof-of-work) are refused with 503 + Retry-After before those that do; at the higher level
// every request but /healthz and /metrics is. The pressure level is set by hand (app.shedding.source),
// so nothing here depends on timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareForm } from '../client/protocol.js';
import { parseConfigText } from '../config/load.js';
import { createInstance } from '../main.js';
import { createTestDatabase, dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, testConfigYaml, type TestInstance } from '../../test/support/instance.js';
import type { PressureLevel } from './app.js';

type Obj = Record<string, unknown>;

describe.skipIf(dbUnavailable())('load shedding', () => {
  let t: TestInstance;
  const visitor = { name: '山田 太郎', email: 'taro@example.jp', message: 'お見積りをお願いします。' };
  const setLevel = (level: PressureLevel) => {
    t.instance.app.shedding.source = () => level;
  };
  const stored = async () => {
    const k = t.instance.db.kysely;
    const s = await k.selectFrom('submissions').select(k.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const m = await k.selectFrom('outbox').select(k.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { submissions: Number(s.n), mails: Number(m.n) };
  };
  const api = (fields: Obj, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(fields) });
  let n = 0;
  /** The visitor (new address and message each time: no duplicate score, no cap) with the hosted form's protocol fields. */
  const withProof = async (): Promise<Record<string, string>> => ({
    ...visitor,
    email: `taro${++n}@example.jp`,
    message: `${visitor.message} (${n} 回目)`,
    ...(await prepareForm(t.url, 'contact')).fields,
  });
  const metric = async (pattern: RegExp) => {
    const m = pattern.exec(await (await fetch(`${t.url}/metrics`)).text());
    return m ? Number(m[1]) : 0;
  };
  const shedCount = (level: string) => metric(new RegExp(`formwarden_shed_total\\{level="${level}"\\} (\\d+)`));
  const shedSubmissions = () => metric(/formwarden_submissions_total\{form="contact",outcome="shed"\} (\d+)/);

  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false, loadShedding: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is on by default, with the event loop (sampled by @fastify/under-pressure) as its source', () => {
    expect(t.instance.config.server.loadShedding).toEqual({
      enabled: true,
      unproven: { eventLoopDelayMs: 150, eventLoopUtilization: 0 },
      all: { eventLoopDelayMs: 1000, eventLoopUtilization: 0 },
      retryAfterSeconds: 10,
      sampleIntervalMs: 500,
    });
    expect(t.instance.app.memoryUsage()).toHaveProperty('eventLoopDelay');
  });

  it('below the first level nothing changes: no token is stored as NO_PROOF (missing: accept, the default), a visitor with proof is accepted', async () => {
    setLevel('normal');
    const r = await api({ ...visitor, message: `${visitor.message} (フォームから)` });
    expect(r.status).toBe(201);
    const row = await t.instance.db.kysely.selectFrom('submissions').select(['verdict', 'autoreply']).where('id', '=', ((await r.json()) as { id: string }).id).executeTakeFirstOrThrow();
    expect(row.autoreply).toBe('skipped:no_proof');
    const before = await stored();
    expect((await api(await withProof())).status).toBe(201);
    expect((await stored()).submissions).toBe(before.submissions + 1);
  });

  it('at the first level a post without proof gets 503 + Retry-After (ja/en), nothing stored, and is counted', async () => {
    setLevel('unproven');
    const before = await stored();
    const shed0 = await shedCount('unproven');
    const subs0 = await shedSubmissions();

    const bare = await api(visitor);
    expect(bare.status).toBe(503);
    expect(bare.headers.get('retry-after')).toBe('10');
    expect(((await bare.json()) as { error: Obj }).error).toEqual({ code: 'E_OVERLOADED', message: 'ただいま混み合っています。しばらく待ってから再度お試しください。' });
    const en = await api(visitor, { 'accept-language': 'en' });
    expect(((await en.json()) as { error: Obj }).error.message).toBe('The server is busy. Please wait a moment and try again.');

    // A token alone, a forged token, or a token with a proof-of-work for another form is not proof.
    const proof = await withProof();
    const { altcha: _a, ...tokenOnly } = proof;
    expect((await api(tokenOnly)).status).toBe(503);
    expect((await api({ ...proof, _token: `${proof._token!.split('.')[0]}.${'A'.repeat(43)}` })).status).toBe(503);
    expect((await api({ ...proof, altcha: 'e30=' })).status).toBe(503);

    // The hosted form's own post without proof gets the busy page.
    const html = await fetch(`${t.url}/f/contact`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(visitor).toString() });
    expect(html.status).toBe(503);
    expect(html.headers.get('retry-after')).toBe('10');
    expect(await html.text()).toContain('ただいま混み合っています');

    expect(await stored()).toEqual(before);
    expect(await shedCount('unproven')).toBe(shed0 + 6);
    expect(await shedSubmissions()).toBe(subs0 + 6);
  });

  it('at the first level a visitor with a valid token and proof-of-work gets through and is stored as usual', async () => {
    setLevel('unproven');
    const before = await stored();
    const r = await api(await withProof());
    expect(r.status).toBe(201);
    const { id } = (await r.json()) as { id: string };
    const row = await t.instance.db.kysely.selectFrom('submissions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.action).toBe('accept');
    expect(await stored()).toEqual({ submissions: before.submissions + 1, mails: before.mails + 2 });
    // Form pages and challenges are still served at this level.
    expect((await fetch(`${t.url}/f/contact`)).status).toBe(200);
  });

  it('at the higher level every request is refused before its body is read, except /healthz and /metrics', async () => {
    setLevel('normal');
    const proof = await withProof();
    setLevel('all');
    const before = await stored();
    const shed0 = await shedCount('all');
    const r = await api(proof);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('10');
    expect(((await r.json()) as { error: Obj }).error.code).toBe('E_OVERLOADED');
    const page = await fetch(`${t.url}/f/contact?lang=en`);
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('The server is busy');
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(await shedCount('all')).toBe(shed0 + 2);
    expect(await stored()).toEqual(before);
    // Back to normal: the same proof is still good (it was not used by the refused post).
    setLevel('normal');
    expect((await api(proof)).status).toBe(201);
  });
});

describe.skipIf(dbUnavailable())('load shedding off', () => {
  it('server.loadShedding.enabled: false ignores the pressure level', async () => {
    const db = await createTestDatabase();
    const yaml = testConfigYaml({ dbUrl: db.url });
    const config = parseConfigText(yaml, 'test');
    expect(config.server.loadShedding.enabled).toBe(false);
    const instance = await createInstance({ config, file: null, baseDir: db.dir }, { startWorker: false });
    try {
      const url = await instance.listen();
      instance.app.shedding.source = () => 'all';
      expect(instance.app.shedding.level()).toBe('normal');
      expect((await fetch(`${url}/f/contact`)).status).toBe(200);
      const r = await fetch(`${url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(r.status).toBe(400);
    } finally {
      await instance.close();
      await db.drop();
    }
  });
});
