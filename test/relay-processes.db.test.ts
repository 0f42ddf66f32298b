// Caps and budgets across two separate `formwarden serve` processes sharing one database and Redis:
// concurrent posts to one address and to one domain never spend a budget twice.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitLikeAPerson } from '../src/client/protocol.js';
import { openDb } from '../src/store/db.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from './support/db.js';
import { testConfigYaml } from './support/instance.js';
import { startServer, type ServerProcess } from './support/process.js';

describe.skipIf(dbUnavailable())('two server processes', () => {
  let db: TestDatabase;
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    const config = path.join(db.dir, 'formwarden.yaml');
    writeFileSync(config, testConfigYaml({ dbUrl: db.url, extra: `redis: { url: "redis://127.0.0.1:6379", keyPrefix: "fw:proc:${randomUUID()}:" }` }));
    servers.push(await startServer(['--config', config]), await startServer(['--config', config]));
  }, 120_000); // two server processes: room for a loaded machine
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await db?.drop();
  });

  it('share the caps: one auto-reply per address, five per domain, however the posts are spread', async () => {
    const posts = [
      ...Array.from({ length: 16 }, (_, i) => ({ name: 'P', email: 'shared@one.example', message: `x ${i}` })),
      ...Array.from({ length: 16 }, (_, i) => ({ name: 'Q', email: `user${i}@domain.example`, message: `y ${i}` })),
    ];
    const answers = await Promise.all(posts.map((p, i) => submitLikeAPerson(servers[i % 2]!.url, 'contact', p, { headers: { 'x-forwarded-for': `198.51.100.${i}` } })));
    expect(answers.map((a) => a.status)).toEqual(posts.map(() => 201));
    const k = openDb(db.url, db.dir);
    try {
      const replies = await k.kysely.selectFrom('outbox').select('to_addr').where('kind', '=', 'autoreply').execute();
      expect(replies.filter((r) => r.to_addr === 'shared@one.example')).toHaveLength(1);
      expect(replies.filter((r) => r.to_addr.endsWith('@domain.example'))).toHaveLength(5);
      const subs = await k.kysely.selectFrom('submissions').select(['autoreply']).execute();
      expect(subs).toHaveLength(32);
      expect(subs.filter((s) => s.autoreply === 'skipped:cap:address')).toHaveLength(15);
      expect(subs.filter((s) => s.autoreply === 'skipped:cap:domain')).toHaveLength(11);
    } finally {
      await k.close();
    }
  });
});
