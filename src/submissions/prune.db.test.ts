// Retention of refused posts (retention.refused, default 7 days) on a simulated clock: rejected posts
// (refused at the door or by their score) are deleted once older than that, in small batches; every
// post that reached the owner (accepted, quarantined) is kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { createInstance, type Instance } from '../main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { testConfigYaml } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';
import { PruneJob, pruneRefused } from './prune.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5);

describe.skipIf(dbUnavailable())('retention: refused posts', () => {
  let db: TestDatabase;
  let instance: Instance;
  const clock = new ManualClock(START);
  let n = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Tokens without proof-of-work, so posts are cheap to make here; the honeypot decides reject or not.
    const defenses = 'defenses: { formToken: { minFillSeconds: 0, maxAgeMinutes: 100000 }, altcha: { enabled: false }, rateLimit: { enabled: false }, ipLists: { ban: false } }';
    const config = parseConfigText(testConfigYaml({ dbUrl: db.url, defenses }), 'test');
    expect(config.retention).toMatchObject({ refused: '7d', attachments: '90d' });
    instance = await createInstance({ config, file: null, baseDir: db.dir }, { clock, startWorker: false });
  });
  afterAll(async () => {
    await instance?.close();
    await db?.drop();
  });

  /** junk: a junk token (refused at the door); trap: a good token, honeypot filled (rejected whole); ok: accepted; odd: honeypot missing (quarantined). */
  async function post(kind: 'junk' | 'trap' | 'ok' | 'odd'): Promise<string> {
    const i = ++n;
    const token = kind === 'junk' ? `junk${i}.x` : instance.defenses.tokens.issueToken('contact', clock.now());
    const honeypot = kind === 'odd' ? {} : { website: kind === 'trap' ? 'https://spam.example' : '' };
    const res = await instance.app.inject({
      method: 'POST',
      url: '/api/forms/contact/submissions',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `192.0.2.${i % 250}` },
      payload: JSON.stringify({ name: `n${i}`, email: `v${i}@example.jp`, message: `message ${i}`, _token: token, ...honeypot }),
    });
    expect(res.statusCode).toBe(201);
    return (res.json() as { id: string }).id;
  }
  const rows = async () => (await instance.db.kysely.selectFrom('submissions').select(['id', 'action', 'refused']).orderBy('created_at').orderBy('id').execute()).map((r) => ({ id: r.id, action: r.action, refused: r.refused ?? null }));

  it('deletes rejected posts older than 7 days, in batches, and keeps everything else', async () => {
    const old = { junk: await post('junk'), trap: await post('trap'), ok: await post('ok'), odd: await post('odd') };
    const all = await rows();
    expect(all.find((r) => r.id === old.junk)).toMatchObject({ action: 'reject', refused: 'TOKEN_INVALID' });
    expect(all.find((r) => r.id === old.trap)).toMatchObject({ action: 'reject', refused: null });
    expect(all.find((r) => r.id === old.ok)?.action).toBe('accept');
    expect(all.find((r) => r.id === old.odd)?.action).toBe('quarantine');

    clock.advance(6 * DAY);
    const recent = { junk: await post('junk'), trap: await post('trap') };
    const job = new PruneJob({ db: instance.db.kysely, config: instance.config, clock });
    // Six days on, nothing is old enough.
    expect(await job.runOnce()).toBe(0);

    clock.advance(DAY + 1);
    expect(await job.runOnce()).toBe(2);
    const left = (await rows()).map((r) => r.id);
    expect(left).not.toContain(old.junk);
    expect(left).not.toContain(old.trap);
    for (const id of [old.ok, old.odd, recent.junk, recent.trap]) expect(left).toContain(id);

    // Many of them: deleted in batches (each its own statement); a run stops after maxBatches and the next goes on.
    for (let i = 0; i < 11; i++) await post(i % 2 ? 'junk' : 'trap');
    clock.advance(8 * DAY);
    const cutoff = clock.now().getTime() - 7 * DAY;
    expect(await pruneRefused(instance.db.kysely, cutoff, { batch: 3, maxBatches: 2 })).toBe(6);
    expect(await pruneRefused(instance.db.kysely, cutoff, { batch: 3 })).toBe(7);
    expect(await pruneRefused(instance.db.kysely, cutoff, { batch: 3 })).toBe(0);
    const remaining = await rows();
    expect(remaining.map((r) => r.action).sort()).toEqual(['accept', 'quarantine']);
  });

  it('retention.refused is a duration; a bad one is refused with a clear message', () => {
    const yaml = testConfigYaml({ dbUrl: 'sqlite::memory:', extra: 'retention: { refused: 30d }' });
    expect(parseConfigText(yaml, 'test').retention.refused).toBe('30d');
    expect(() => parseConfigText(testConfigYaml({ dbUrl: 'sqlite::memory:', extra: 'retention: { refused: soon }' }), 'test')).toThrow(/retention\.refused.*not a duration/s);
  });
});
