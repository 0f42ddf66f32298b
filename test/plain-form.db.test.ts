// Issue #12, item 2: a plain HTML form on the owner's own site (no widget.js, so no token, honeypot or
// proof-of-work) is accepted by default as NO_PROOF: stored, the owner notified (digest rules apply), never
// an auto-reply (recorded as skipped:no_proof), and the visitor gets the thank-you page or successUrl.
// formToken.missing: reject keeps the old 403 (before anything else runs: cheap rejection first), blocked
// addresses and rate limits still apply, and no token-less post ever queues an auto-reply (property).
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { createInstance, type Instance } from '../src/main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from './support/db.js';
import { BASE_FORM, TEST_DEFENSES, testConfigYaml } from './support/instance.js';

type Started = { instance: Instance; db: TestDatabase };
const started: Started[] = [];

async function start(opts: { defenses?: string; forms?: string; mailExtra?: string } = {}): Promise<Instance> {
  const db = await createTestDatabase();
  let yaml = testConfigYaml({ dbUrl: db.url, defenses: opts.defenses ?? TEST_DEFENSES, forms: opts.forms ?? BASE_FORM });
  if (opts.mailExtra) yaml = yaml.replace('  retry: [1s, 1s, 1s]\n', `  retry: [1s, 1s, 1s]\n  ${opts.mailExtra}\n`);
  const instance = await createInstance({ config: parseConfigText(yaml, 'test'), file: null, baseDir: db.dir }, { startWorker: false });
  started.push({ instance, db });
  return instance;
}

/** What the owner's <form method="post" action=".../f/contact"> sends: the fields, nothing else. */
const plainPost = (instance: Instance, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  instance.app.inject({ method: 'POST', url: '/f/contact', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(fields).toString() });

const visitor = (n: number) => ({ name: '山田 太郎', email: `taro${n}@example.jp`, message: `見積もりをお願いします（${n}）。` });

async function rows(instance: Instance) {
  const k = instance.db.kysely;
  const subs = await k.selectFrom('submissions').select(['id', 'receipt', 'action', 'verdict', 'autoreply', 'notify', 'fields']).orderBy('created_at').execute();
  const mails = await k.selectFrom('outbox').select(['kind', 'submission_id', 'to_addr']).execute();
  return { subs: subs.map((s) => ({ ...s, symbols: (JSON.parse(s.verdict) as { symbols: { symbol: string }[] }).symbols.map((f) => f.symbol) })), mails };
}

describe.skipIf(dbUnavailable())('a plain HTML form without a token (formToken.missing)', () => {
  afterEach(async () => {
    while (started.length) {
      const s = started.pop()!;
      await s.instance.close();
      await s.db.drop();
    }
  });
  afterAll(async () => {
    for (const s of started) await s.instance.close();
  });

  it('default (accept): 303 to the thank-you page with the receipt; stored as NO_PROOF, the owner notified, the auto-reply skipped:no_proof', async () => {
    const instance = await start();
    expect(instance.config.defenses.formToken.missing).toBe('accept');
    const res = await plainPost(instance, { ...visitor(1), lang: 'en' });
    expect(res.statusCode).toBe(303);
    const { subs, mails } = await rows(instance);
    expect(subs).toHaveLength(1);
    const [s] = subs;
    expect(res.headers.location).toBe(`/f/contact/thanks?lang=en&id=${s!.receipt}`);
    expect(s!.receipt).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(s!.action).toBe('accept_no_autoreply');
    expect(s!.symbols).toContain('NO_PROOF');
    // NO_PROOF stands for what a plain form cannot carry: not scored again beside it.
    expect(s!.symbols).not.toContain('HONEYPOT_MISSING');
    expect(s!.symbols).not.toContain('ALTCHA_MISSING');
    expect(s!.autoreply).toBe('skipped:no_proof');
    expect(s!.notify).toBe('queued');
    expect(JSON.parse(s!.fields)).toMatchObject(visitor(1));
    expect(mails).toEqual([{ kind: 'notify', submission_id: s!.id, to_addr: 'owner@example.jp' }]);
    // The JSON API too: 201 with the receipt.
    const api = await instance.app.inject({ method: 'POST', url: '/api/forms/contact/submissions', payload: visitor(2) });
    expect(api.statusCode).toBe(201);
    expect(api.json()).toMatchObject({ status: 'accepted', receipt: expect.stringMatching(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/) });
  });

  it('the form\'s successUrl is where the visitor goes', async () => {
    const instance = await start({ forms: `${BASE_FORM}    successUrl: "https://www.example.jp/thanks.html"\n` });
    const res = await plainPost(instance, visitor(3));
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('https://www.example.jp/thanks.html');
  });

  it('the owner\'s snippet may carry the honeypot: a bot that fills it is rejected (answered alike) and nobody gets mail', async () => {
    const instance = await start();
    expect((await plainPost(instance, { ...visitor(4), website: 'http://spam.example' })).statusCode).toBe(303);
    const { subs, mails } = await rows(instance);
    expect(subs[0]!.action).toBe('reject');
    expect(subs[0]!.symbols).toEqual(expect.arrayContaining(['NO_PROOF', 'HONEYPOT_FILLED']));
    expect(mails).toEqual([]);
  });

  it('digest rules apply: above mail.digest.threshold an hour the notifications go into the digest', async () => {
    const instance = await start({ mailExtra: 'digest: { threshold: 2 }' });
    for (let i = 0; i < 3; i++) expect((await plainPost(instance, visitor(10 + i))).statusCode).toBe(303);
    const { subs, mails } = await rows(instance);
    expect(subs.map((s) => s.notify)).toEqual(['queued', 'queued', 'digest']);
    expect(mails.map((m) => m.kind)).toEqual(['notify', 'notify']);
  });

  it('rate limits still apply to token-less posts (429, nothing stored)', async () => {
    const instance = await start({ defenses: 'defenses:\n  formToken: { minFillSeconds: 0 }\n  rateLimit: { rules: [{ scope: address, points: 2, durationSeconds: 600 }] }\n' });
    expect((await plainPost(instance, visitor(20))).statusCode).toBe(303);
    expect((await plainPost(instance, visitor(21))).statusCode).toBe(303);
    const third = await plainPost(instance, visitor(22));
    expect(third.statusCode).toBe(429);
    expect((await rows(instance)).subs).toHaveLength(2);
  });

  it('missing: reject keeps the strict 403 E_TOKEN_MISSING before anything is stored; a blocked address is refused first', async () => {
    const instance = await start({ defenses: 'defenses:\n  formToken: { minFillSeconds: 0, missing: reject }\n  rateLimit: { enabled: false }\n  ipLists: { block: [203.0.113.0/24] }\n' });
    const res = await instance.app.inject({ method: 'POST', url: '/api/forms/contact/submissions', payload: visitor(30) });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('E_TOKEN_MISSING');
    const page = await plainPost(instance, visitor(31));
    expect(page.statusCode).toBe(403);
    const blocked = await plainPost(instance, visitor(32), { 'x-forwarded-for': '203.0.113.7' });
    expect(blocked.statusCode).toBe(403);
    expect(blocked.body).not.toContain('reload');
    expect((await rows(instance)).subs).toEqual([]);
  });

  it('property: no token-less post, whatever else it carries, ever queues an auto-reply', async () => {
    const instance = await start({ defenses: 'defenses:\n  formToken: { minFillSeconds: 0 }\n  altcha: { cost: 10, minNumber: 5, maxNumber: 40 }\n  rateLimit: { enabled: false }\n  ipLists: { ban: false }\n  content: { duplicate: false }\n' });
    let n = 0;
    const junk = fc.oneof(fc.constant(''), fc.string({ maxLength: 40 }), fc.base64String({ maxLength: 80 }));
    const post = fc.record({
      name: fc.oneof(fc.constant('山田 太郎'), fc.string({ minLength: 1, maxLength: 60 })),
      local: fc.stringMatching(/^[a-z][a-z0-9.+_-]{0,20}$/),
      domain: fc.constantFrom('example.jp', 'example.com', 'mail.example.org', 'victim.example'),
      message: fc.string({ minLength: 1, maxLength: 300 }),
      website: fc.option(junk, { nil: undefined }),
      altcha: fc.option(junk, { nil: undefined }),
      token: fc.constantFrom(undefined, ''),
      lang: fc.constantFrom(undefined, 'ja', 'en'),
      json: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(post, async (p) => {
        const fields: Record<string, string> = { name: p.name, email: `${p.local}${++n}@${p.domain}`, message: p.message };
        if (p.website !== undefined) fields.website = p.website;
        if (p.altcha !== undefined) fields.altcha = p.altcha;
        if (p.token !== undefined) fields._token = p.token;
        if (p.lang) fields.lang = p.lang;
        const res = p.json
          ? await instance.app.inject({ method: 'POST', url: '/api/forms/contact/submissions', payload: fields })
          : await plainPost(instance, fields);
        expect(res.statusCode).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
    const { subs, mails } = await rows(instance);
    expect(subs.length).toBeGreaterThan(0);
    expect(mails.filter((m) => m.kind === 'autoreply')).toEqual([]);
    expect(subs.every((s) => !/^(queued|pending)/.test(s.autoreply))).toBe(true);
  }, 120_000);
});
