// Rate limits hold across two `formwarden serve` processes that share Redis (redis.url, with a key
// prefix of their own), and do not with the default memory store: the same client address posts
// alternately to both, as the reference client does.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { submitLikeAPerson } from '../src/client/protocol.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from './support/db.js';
import { testConfigYaml } from './support/instance.js';
import { startServer, type ServerProcess } from './support/process.js';

const LIMIT = 3;
// Only the per-address rule; no proof-of-work, no bans, so the answers depend on the limit alone. Its
// window (10 min) outlasts the posts however slow a loaded machine makes them.
const WINDOW = 600;
const DEFENSES = `
defenses:
  formToken: { minFillSeconds: 0 }
  altcha: { enabled: false }
  ipLists: { ban: false }
  rateLimit: { rules: [{ scope: address, points: ${LIMIT}, durationSeconds: ${WINDOW} }] }
`;

describe.skipIf(dbUnavailable())('rate limits across two server processes', () => {
  const dbs: TestDatabase[] = [];
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await Promise.all(dbs.map((d) => d.drop()));
  });

  /** Two processes on one database, with or without a shared Redis. */
  async function twoProcesses(redis: boolean): Promise<[ServerProcess, ServerProcess]> {
    const db = await createTestDatabase();
    dbs.push(db);
    const config = path.join(db.dir, 'formwarden.yaml');
    const extra = redis ? `redis: { url: "redis://127.0.0.1:6379", keyPrefix: "fwtest:rl2p:${randomUUID()}:" }` : '';
    writeFileSync(config, testConfigYaml({ dbUrl: db.url, defenses: DEFENSES, extra }));
    const pair = [await startServer(['--config', config]), await startServer(['--config', config])] as [ServerProcess, ServerProcess];
    servers.push(...pair);
    return pair;
  }

  /** Posts a valid submission from `ip`, in turn to each listed server; answers in order. */
  async function post(targets: ServerProcess[], ip: string) {
    const out: { status: number; retryAfter: string | null; code?: string }[] = [];
    for (const [i, s] of targets.entries()) {
      const res = await submitLikeAPerson(s.url, 'contact', { name: 'Rate Test', email: `r${i}@example.jp`, message: `message number ${i} ${randomUUID()}` }, { headers: { 'x-forwarded-for': ip } });
      const body = (await res.json()) as { error?: { code: string } };
      out.push({ status: res.status, retryAfter: res.headers.get('retry-after'), ...(body.error ? { code: body.error.code } : {}) });
    }
    return out;
  }

  it('with Redis the limit counts the posts to both processes: the fourth gets 429 with Retry-After, whichever process answers', async () => {
    const [a, b] = await twoProcesses(true);
    const answers = await post([a, b, a, b, a, b], '198.51.100.7');
    expect(answers.map((x) => x.status)).toEqual([201, 201, 201, 429, 429, 429]);
    for (const denied of answers.slice(LIMIT)) {
      expect(denied.code).toBe('E_RATE_LIMIT');
      expect(Number(denied.retryAfter)).toBeGreaterThan(0);
      expect(Number(denied.retryAfter)).toBeLessThanOrEqual(WINDOW);
    }
    // Another address is not affected.
    expect((await post([b], '198.51.100.8'))[0]!.status).toBe(201);
  }, 180_000); // two server processes started: room for a loaded machine

  it('with the memory store each process counts alone: the same six posts all pass (so the test above tells them apart)', async () => {
    const [a, b] = await twoProcesses(false);
    const answers = await post([a, b, a, b, a, b], '198.51.100.7');
    expect(answers.map((x) => x.status)).toEqual([201, 201, 201, 201, 201, 201]);
    // Each process still limits what it sees itself.
    const [fourth] = await post([a], '198.51.100.7');
    expect(fourth).toMatchObject({ status: 429, code: 'E_RATE_LIMIT' });
    expect(Number(fourth!.retryAfter)).toBeGreaterThan(0);
  }, 180_000);
});
