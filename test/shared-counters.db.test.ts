// Counters that decide mail are shared by every process on one database (and one Redis, when configured):
// two instances in one test process, each with its own connections, stand for two `serve` processes.
// - the digest threshold (mail.digest.threshold): posts split over both switch both to the digest;
// - single use of form tokens: a token spent on one is refused on the other (Redis, or the database on
//   PostgreSQL without Redis);
// - alert and digest dedupe: both processes seeing the same trip, or the same due digest, send it once.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { createInstance, type Instance } from '../src/main.js';
import { sendDigests } from '../src/mail/digest.js';
import { sendAlert } from '../src/monitor/alerts.js';
import type { TripInfo } from '../src/monitor/breaker.js';
import { createTestDatabase, dbUnavailable, dialect, type TestDatabase } from './support/db.js';
import { OPEN_DEFENSES, testConfigYaml } from './support/instance.js';

const THRESHOLD = 4;

describe.skipIf(dbUnavailable())('counters shared by two instances', () => {
  const open: Instance[] = [];
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(open.map((i) => i.close()));
    await Promise.all(dbs.map((d) => d.drop()));
  });

  async function pair(redis: boolean): Promise<[{ i: Instance; url: string }, { i: Instance; url: string }]> {
    const db = await createTestDatabase();
    dbs.push(db);
    const extra = redis ? `redis: { url: "redis://127.0.0.1:6379", keyPrefix: "fwtest:shared:${randomUUID()}:" }` : '';
    const start = async () => {
      const parsed = parseConfigText(testConfigYaml({ dbUrl: db.url, defenses: OPEN_DEFENSES, extra }), 'test');
      const config = { ...parsed, mail: { ...parsed.mail, digest: { ...parsed.mail.digest, threshold: THRESHOLD } } };
      const i = await createInstance({ config, file: null, baseDir: db.dir }, { startWorker: false });
      open.push(i);
      return { i, url: await i.listen() };
    };
    return [await start(), await start()];
  }

  async function post(target: { url: string }, token: string, n: number): Promise<number> {
    const res = await fetch(`${target.url}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${n}` },
      body: JSON.stringify({ name: `Visitor ${n}`, email: `v${n}@d${n}.example`, message: `Question number ${n}`, _token: token, website: '' }),
    });
    return res.status;
  }

  const cases = [{ redis: true }, ...(dialect === 'postgres' ? [{ redis: false }] : [])];
  for (const { redis } of cases) {
    const how = redis ? 'with Redis' : 'on PostgreSQL without Redis';
    it(`${how}: the digest threshold counts the posts of both`, async () => {
      const [x, y] = await pair(redis);
      const k = x.i.db.kysely;
      for (let n = 0; n < 2 * THRESHOLD; n++) {
        const at = n % 2 ? y : x;
        expect(await post(at, at.i.defenses.tokens.issueToken('contact'), n + 1)).toBe(201);
      }
      const states = (await k.selectFrom('submissions').select('notify').execute()).map((r) => r.notify).sort();
      expect(states).toEqual([...Array(THRESHOLD).fill('digest'), ...Array(THRESHOLD).fill('queued')]);
    });

    it(`${how}: a token spent on one is refused on the other`, async () => {
      const [x, y] = await pair(redis);
      const k = x.i.db.kysely;
      const token = x.i.defenses.tokens.issueToken('contact');
      expect(await post(x, token, 100)).toBe(201);
      expect(await post(y, token, 101)).toBe(201);
      const replayed = await k.selectFrom('submissions').select(['verdict', 'autoreply']).where('ip', '=', '198.51.100.101').executeTakeFirstOrThrow();
      expect(JSON.parse(replayed.verdict).symbols.map((f: { symbol: string }) => f.symbol)).toContain('TOKEN_REPLAYED');
      expect(replayed.autoreply).not.toBe('queued');
    });
  }

  // Two SQLite connections in one process cannot both hold a write transaction (better-sqlite3 waits
  // synchronously, blocking the other): the race is PostgreSQL's to show; SQLite serialises writers itself.
  it.skipIf(dialect === 'sqlite')('the same alert seen by both at once is sent once', async () => {
    const [x, y] = await pair(false);
    const k = x.i.db.kysely;
    const trip: TripInfo = {
      scope: 'form:contact',
      formId: 'contact',
      reason: 'submissions 61 in 600s > limit 60',
      kind: 'breaker',
      stats: { submissions: 61, autoreplies: 0, recipientDomains: 0, rejected: 0, bounces: 0, bounceDomains: 0, sent: 0, topIps: [], topDomains: [], samples: [] },
    };
    const deps = (i: Instance) => ({ db: i.db.kysely, config: i.config, clock: { now: () => new Date() }, fromAddress: 'info@example.jp', dialect: i.db.dialect });
    const sent = await Promise.all([sendAlert(deps(x.i), trip), sendAlert(deps(y.i), trip), sendAlert(deps(x.i), trip), sendAlert(deps(y.i), trip)]);
    expect(sent.filter(Boolean)).toHaveLength(1);
    expect(await k.selectFrom('outbox').select('id').where('kind', '=', 'alert').execute()).toHaveLength(1);
  });

  it.skipIf(dialect === 'sqlite')('a digest found due by both at once is sent once', async () => {
    const [x, y] = await pair(false);
    const k = x.i.db.kysely;
    // Posts over the threshold wait for the digest; both processes' housekeeping finds it due at once.
    for (let n = 0; n < 2 * THRESHOLD + 2; n++) expect(await post(n % 2 ? y : x, x.i.defenses.tokens.issueToken('contact'), n + 1)).toBe(201);
    const clock = { now: () => new Date() };
    const digests = await Promise.all([
      sendDigests(x.i.db.kysely, x.i.config, clock, 'info@example.jp', x.i.db.dialect),
      sendDigests(y.i.db.kysely, y.i.config, clock, 'info@example.jp', y.i.db.dialect),
    ]);
    expect(digests.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await k.selectFrom('outbox').select('id').where('kind', '=', 'digest').execute()).toHaveLength(1);
    expect(await k.selectFrom('submissions').select('id').where('notify', '=', 'digest').execute()).toHaveLength(0);
  });
});
