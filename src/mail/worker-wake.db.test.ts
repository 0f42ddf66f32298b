// The workers are woken by a post only when it queued something for them: under a flood most posts queue
// nothing (the owner's notifications go to the digest, auto-replies are capped), and each pass that finds
// nothing due still costs a query (in the intake bench: ~130 passes a second, 8% of the server's CPU).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { createInstance, type Instance } from '../main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { PLAIN_POST_DEFENSES, testConfigYaml } from '../../test/support/instance.js';
import { waitFor } from '../../test/support/wait.js';

describe.skipIf(dbUnavailable())('waking the outbox workers', () => {
  let db: TestDatabase;
  let instance: Instance;
  let url = '';
  beforeAll(async () => {
    db = await createTestDatabase();
    // One notification an hour, then the digest; the auto-reply cap of one address is one a day. The
    // background jobs (which may queue an alert and wake the mail worker) wait an hour.
    const text = testConfigYaml({ dbUrl: db.url, defenses: PLAIN_POST_DEFENSES, extra: 'monitor: { intervalSeconds: 3600 }' }).replace('  retry: [1s, 1s, 1s]', '  retry: [1s, 1s, 1s]\n  digest: { threshold: 1 }');
    // The workers never poll on their own during the test: every pass after the first comes from a wake-up.
    instance = await createInstance({ config: parseConfigText(text, 'test'), file: null, baseDir: db.dir }, { workerPollMs: 3_600_000 });
    url = await instance.listen();
  });
  afterAll(async () => {
    await instance?.close();
    await db?.drop();
  });

  const post = async (n: number) => {
    const body = new URLSearchParams({ name: `Visitor ${n}`, email: 'same@example.jp', message: `Question ${n} about opening hours.`, website: '' });
    const res = await fetch(`${url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const sent = async () => (await instance.db.kysely.selectFrom('outbox').select('id').where('state', '=', 'sent').execute()).length;
  const settled = () => waitFor(() => !instance.worker.passing && !instance.webhookWorker.passing && instance.worker.stats.passes > 0 && instance.webhookWorker.stats.passes > 0, 'the workers idle');

  it('a post that queued mail wakes the mail worker; posts that queued nothing wake neither worker', async () => {
    await settled();
    const webhookPasses = instance.webhookWorker.stats.passes;
    // The first post queues the owner's notification and the visitor's auto-reply: the mail worker sends both.
    const before = instance.worker.stats.passes;
    await post(0);
    await waitFor(async () => (await sent()) === 2, 'both mails sent');
    await settled();
    expect(instance.worker.stats.passes).toBeGreaterThan(before);
    const afterFirst = instance.worker.stats.passes;

    // Five more from the same address: the notifications go to the digest, the auto-replies are capped.
    const ids = [];
    for (let i = 1; i <= 5; i++) ids.push(await post(i));
    const rows = await instance.db.kysely.selectFrom('submissions').select(['notify', 'autoreply']).where('id', 'in', ids).execute();
    expect(rows).toHaveLength(5);
    for (const r of rows) expect(r.autoreply).toMatch(/^skipped:cap/);
    expect(await instance.db.kysely.selectFrom('outbox').select('id').execute()).toHaveLength(2);
    // A wake-up is a timer of 0 ms set while the post is answered; give one a chance to run before looking.
    await new Promise((r) => setTimeout(r, 200));
    expect(instance.worker.stats.passes).toBe(afterFirst);
    // No webhooks are configured: the webhook worker was never woken.
    expect(instance.webhookWorker.stats.passes).toBe(webhookPasses);
  });
});
