// Load shedding (issue 10, class 10): a form token or proof-of-work that was already spent is no proof.
// Under pressure, a bot that solved one proof-of-work and replays it (the token, the solution, or both,
// on either route, in either encoding) is shed with 503 like a post without proof, and nothing is
// stored; a fresh proof still gets through. Both replay stores (memory, Redis) answer the check.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareForm } from '../client/protocol.js';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';

const stores = [
  { name: 'memory', extra: '' },
  { name: 'redis', extra: `redis: { url: "redis://127.0.0.1:6379", keyPrefix: "fw:t:shed:${randomBytes(4).toString('hex')}:" }` },
];

describe.skipIf(dbUnavailable()).each(stores)('load shedding with a spent proof ($name replay store)', ({ extra }) => {
  let t: TestInstance;
  let n = 0;
  const visitor = () => ({ name: '山田 太郎', email: `taro${++n}@example.jp`, message: `お見積りをお願いします。(${n})` });
  const count = async () => {
    const k = t.instance.db.kysely;
    return Number((await k.selectFrom('submissions').select(k.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  };
  const post = (route: 'api' | 'page', encoding: 'json' | 'form', fields: Record<string, string>) =>
    fetch(`${t.url}${route === 'api' ? '/api/forms/contact/submissions' : '/f/contact'}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded' },
      body: encoding === 'json' ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
    });

  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false, loadShedding: true, extra });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a replayed token, proof-of-work, or both is shed (503 E_OVERLOADED), nothing stored; a fresh proof is accepted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('token' as const, 'altcha' as const, 'both' as const),
        fc.constantFrom('api' as const, 'page' as const),
        fc.constantFrom('json' as const, 'form' as const),
        async (replayed, route, encoding) => {
          t.instance.app.shedding.source = () => 'normal';
          const spent = (await prepareForm(t.url, 'contact')).fields;
          const first = await post('api', 'json', { ...visitor(), ...spent });
          expect(first.status).toBe(201);

          t.instance.app.shedding.source = () => 'unproven';
          const fresh = (await prepareForm(t.url, 'contact')).fields;
          const proof = {
            ...fresh,
            ...(replayed !== 'altcha' ? { _token: spent._token! } : {}),
            ...(replayed !== 'token' ? { altcha: spent.altcha! } : {}),
          };
          const before = await count();
          const r = await post(route, encoding, { ...visitor(), ...proof });
          expect(r.status, `${replayed} replayed, ${route}, ${encoding}`).toBe(503);
          expect(r.headers.get('retry-after')).toBe('10');
          if (route === 'api') expect(((await r.json()) as { error: { code: string } }).error.code).toBe('E_OVERLOADED');
          else await r.text();
          expect(await count()).toBe(before);

          // The same fresh proof, unspent, is still proof (the shed post did not use it).
          const ok = await post(route, encoding, { ...visitor(), ...fresh });
          expect(ok.status).toBe(route === 'api' ? 201 : 303);
          expect(await count()).toBe(before + 1);
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);
});
