// Redis down (redis.url set, a private redis-server killed): inquiries are still accepted and the owner
// notified, but no auto-reply is sent while the shared counters cannot be checked (fail closed); once
// Redis is back the instance reconnects by itself and auto-replies resume.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitLikeAPerson } from '../../src/client/protocol.js';
import { dbUnavailable } from '../support/db.js';
import { startTestInstance, type TestInstance } from '../support/instance.js';
import { SmtpSink } from '../support/smtp-sink.js';
import { waitFor } from '../support/wait.js';
import { checkInvariants } from './invariants.js';
import { freePort, installed, PrivateRedis } from './services.js';

// Rate limits on, generous enough for one test client (every post comes from 127.0.0.1).
const DEFENSES = `
defenses:
  formToken: { minFillSeconds: 0 }
  altcha: { cost: 10, minNumber: 5, maxNumber: 40 }
  rateLimit: { rules: [{ scope: address, points: 100, durationSeconds: 600 }] }
`;

describe.skipIf(dbUnavailable() || !installed('redis-server', PrivateRedis.available(), 'apt-get install redis-server'))('faults: Redis down', () => {
  const sink = new SmtpSink();
  let redis: PrivateRedis;
  let t: TestInstance;

  beforeAll(async () => {
    const port = await sink.start();
    redis = new PrivateRedis(await freePort());
    await redis.start();
    t = await startTestInstance({ smtp: `smtp://127.0.0.1:${port}`, defenses: DEFENSES, extra: `redis: { url: "${redis.url}" }` });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
    await sink.stop();
  });

  const post = async (tag: string) => {
    const res = await submitLikeAPerson(t.url, 'contact', { name: tag, email: `${tag}@${tag}.example.jp`, message: `message from ${tag}` });
    expect(res.status).toBe(201);
    const id = ((await res.json()) as { id: string }).id;
    return t.instance.db.kysely.selectFrom('submissions').select(['id', 'action', 'autoreply', 'notify', 'verdict']).where('id', '=', id).executeTakeFirstOrThrow();
  };

  it('accepts and notifies without auto-replies while Redis is down, and recovers by itself', async () => {
    const before = await post('before');
    expect(before).toMatchObject({ action: 'accept', autoreply: 'queued', notify: 'queued' });
    expect(await t.instance.redis!.dbsize()).toBeGreaterThan(0); // the counters really live in Redis

    await redis.stop();
    await waitFor(() => t.instance.redis!.status !== 'ready', 'the client to notice Redis is gone');
    const during = [await post('down1'), await post('down2'), await post('down3')];
    for (const s of during) {
      expect(s).toMatchObject({ action: 'accept_no_autoreply', autoreply: 'skipped:accept_no_autoreply', notify: 'queued' });
      // The token's single use cannot be recorded: the token check fails closed (no auto-reply). The rate
      // limits keep counting in memory meanwhile (rate-limiter-flexible's insurance limiter), so no error.
      expect(s.verdict).toMatch(/DEFENSE_ERROR:form-token/);
      expect(s.verdict).not.toMatch(/DEFENSE_ERROR:rate-limit/);
    }
    await waitFor(() => sink.toKind('owner@example.jp', 'notify').length === 4, 'the owner notified of every inquiry');
    expect(sink.to('down1@down1.example.jp')).toHaveLength(0);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

    await redis.start();
    await waitFor(() => t.instance.redis!.status === 'ready', 'the client to reconnect', 30_000);
    const after = await post('after1');
    expect(after).toMatchObject({ action: 'accept', autoreply: 'queued' });
    expect(after.verdict).not.toMatch(/DEFENSE_ERROR/);

    await checkInvariants({ db: t.instance.db, sink, url: t.url, accepted: [before.id, ...during.map((s) => s.id), after.id] });
    expect(sink.to('after1@after1.example.jp')).toHaveLength(1);
    // Not sent late either: nothing was queued for them.
    expect(sink.received.filter((m) => /^down/.test(m.envelopeTo[0] ?? ''))).toHaveLength(0);
    const queued = await t.instance.db.kysely.selectFrom('outbox').select('kind').where('submission_id', 'in', during.map((s) => s.id)).execute();
    expect(queued.map((r) => r.kind)).toEqual(['notify', 'notify', 'notify']);
  });
});
