// Retention of inquiries (retention.submissions, default 365 days) and of client information
// (retention.clientInfo, default 30 days) on a simulated clock: what is older than the window is deleted
// with everything that belongs to it, or anonymised; what is younger is untouched; a submission whose mail
// is still pending waits for it; `never` keeps everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { createInstance, type Instance } from '../main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { testConfigYaml } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';
import { anonymisedIp, PruneJob } from './prune.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5);
const DEFENSES = 'defenses: { formToken: { minFillSeconds: 0, maxAgeMinutes: 100000000 }, altcha: { enabled: false }, rateLimit: { enabled: false }, ipLists: { ban: false } }';

describe.skipIf(dbUnavailable())('retention: submissions and client information', () => {
  let db: TestDatabase;
  let instance: Instance;
  const clock = new ManualClock(START);
  let n = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = parseConfigText(testConfigYaml({ dbUrl: db.url, defenses: DEFENSES }), 'test');
    expect(config.retention).toEqual({ submissions: '365d', refused: '7d', attachments: '90d', clientInfo: '30d', dmarc: '365d' });
    instance = await createInstance({ config, file: null, baseDir: db.dir }, { clock, startWorker: false });
  });
  afterAll(async () => {
    await instance?.close();
    await db?.drop();
  });

  const k = () => instance.db.kysely;
  /** An accepted inquiry from this client; its mails are sent (capture transport) unless kept pending. */
  async function post(ip = '192.0.2.10', ua = 'Mozilla/5.0 test'): Promise<string> {
    const i = ++n;
    const res = await instance.app.inject({
      method: 'POST',
      url: '/api/forms/contact/submissions',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, 'user-agent': ua },
      payload: JSON.stringify({ name: `n${i}`, email: `v${i}@example${i}.jp`, message: `message ${i}`, _token: instance.defenses.tokens.issueToken('contact', clock.now()), website: '' }),
    });
    expect(res.statusCode, res.body).toBe(201);
    await instance.worker.drain();
    return (res.json() as { id: string }).id;
  }
  /** What belongs to a submission, beyond its mails: a file, a bounce, an ignored report, a used link, a cap charge, an abuse-link event. */
  async function extras(id: string): Promise<void> {
    const at = clock.now().getTime();
    const mails = await k().selectFrom('outbox').select(['id', 'to_addr', 'form_id']).where('submission_id', '=', id).execute();
    const ar = mails.find((m) => m.to_addr !== 'owner@example.jp')!;
    await k().insertInto('attachments').values({ id: `a_${id}`, submission_id: id, field: 'file', filename: 'x.pdf', content_type: 'application/pdf', size: 3, sha256: '0'.repeat(64), data: Buffer.from('%PD'), created_at: at }).execute();
    await k().insertInto('events').values([
      { id: `sig_${ar.id}`, kind: 'bounce', form_id: ar.form_id, address: ar.to_addr, at, detail: JSON.stringify({ outbox: ar.id, submission: id }) },
      { id: `ign_${ar.id}_auto-reply`, kind: 'bounce_ignored', form_id: ar.form_id, address: ar.to_addr, at, detail: '{}' },
      { id: `e_abuse_${id}`, kind: 'abuse_link', form_id: ar.form_id, address: ar.to_addr, at, detail: id },
    ]).execute();
    await k().insertInto('link_uses').values({ id: ar.id, used_at: at }).execute();
    await k().insertInto('relay_charges').values({ key: `test:${id}`, outbox_id: ar.id, at }).execute();
  }
  const counts = async (id: string) => {
    const mails = (await k().selectFrom('outbox').select('id').where('submission_id', '=', id).execute()).map((m) => m.id);
    const n = async (q: Promise<unknown[]>) => (await q).length;
    return {
      submission: await n(k().selectFrom('submissions').select('id').where('id', '=', id).execute()),
      attachments: await n(k().selectFrom('attachments').select('id').where('submission_id', '=', id).execute()),
      mails: mails.length,
      events: await n(k().selectFrom('events').select('id').where((eb) => eb.or([eb('detail', '=', id), ...mails.map((m) => eb('id', 'like', `%${m}%`))])).execute()),
      charges: await n(mails.length ? k().selectFrom('relay_charges').select('key').where('outbox_id', 'in', mails).execute() : Promise.resolve([])),
    };
  };
  const ownerMail = async (id: string, state: string) => {
    const at = clock.now().getTime();
    // A pending one is due far ahead (the worker, drained after each post, must not send it here).
    await k().insertInto('outbox').values({ id, submission_id: null, form_id: 'contact', kind: 'alert', to_addr: 'owner@example.jp', reply_to: null, subject: 's', body: 'b', message_id: `<${id}@x>`, state, attempts: 0, next_attempt_at: state === 'pending' ? at + 1000 * DAY : at, locked_until: null, locked_by: null, last_error: null, created_at: at, sent_at: null, raw: null, transport: null }).execute();
  };

  it('deletes submissions older than retention.submissions with everything of theirs; keeps younger ones and those with a pending mail', async () => {
    const old1 = await post();
    const old2 = await post();
    const waiting = await post();
    for (const id of [old1, old2, waiting]) await extras(id);
    await ownerMail('m_alert_old_sent', 'sent');
    await ownerMail('m_alert_old_pending', 'pending');
    // A mail of `waiting` is retrying (pending): the submission must wait for it.
    await k().updateTable('outbox').set({ state: 'pending', next_attempt_at: START + 1000 * DAY }).where('submission_id', '=', waiting).where('kind', '=', 'notify').execute();
    expect(await counts(old1)).toEqual({ submission: 1, attachments: 1, mails: 2, events: 3, charges: expect.any(Number) });

    clock.advance(300 * DAY);
    const young = await post();
    await extras(young);
    // Files are kept here (retention.attachments has its own test): every file seen gone went with its submission.
    const config = { ...instance.config, retention: { ...instance.config.retention, attachments: 'never' } };
    const job = new PruneJob({ db: k(), config, clock });

    clock.advance(65 * DAY - 1); // 365 days less 1 ms after the old ones
    expect((await job.report()).submissions.submissions).toBe(0);
    expect(await counts(old1)).toEqual({ submission: 1, attachments: 1, mails: 2, events: 3, charges: expect.any(Number) });

    // `never` keeps everything, whatever its age.
    clock.advance(10 * DAY);
    const never = new PruneJob({ db: k(), config: { ...config, retention: { ...config.retention, submissions: 'never' } }, clock });
    expect((await never.report()).submissions).toMatchObject({ submissions: 0, outbox: 0, kept: 0 });

    const charges = (await counts(old1)).charges + (await counts(old2)).charges;
    expect(charges).toBeGreaterThanOrEqual(2);
    const r = await job.report();
    // Two submissions, their files, 2 x 2 mails + the old owner alert, 2 x 3 events, their used links and cap charges.
    expect(r.submissions).toEqual({ submissions: 2, attachments: 2, outbox: 5, events: 6, relay_charges: charges, link_uses: 2, suppressions: 0, kept: 1 });
    for (const id of [old1, old2]) expect(await counts(id)).toEqual({ submission: 0, attachments: 0, mails: 0, events: 0, charges: 0 });
    expect(await counts(waiting)).toEqual({ submission: 1, attachments: 1, mails: 2, events: 3, charges: expect.any(Number) });
    expect(await counts(young)).toEqual({ submission: 1, attachments: 1, mails: 2, events: 3, charges: expect.any(Number) });
    const owner = (await k().selectFrom('outbox').select('id').where('submission_id', 'is', null).execute()).map((m) => m.id);
    expect(owner).toEqual(['m_alert_old_pending']);
    expect(await k().selectFrom('link_uses').select('id').execute()).toHaveLength(2);

    // Once its mail is done (here: dead after its retries), the waiting submission goes too.
    await k().updateTable('outbox').set({ state: 'dead' }).where('submission_id', '=', waiting).execute();
    expect((await job.report()).submissions).toMatchObject({ submissions: 1, outbox: 2, kept: 0 });
    expect(await counts(waiting)).toEqual({ submission: 0, attachments: 0, mails: 0, events: 0, charges: 0 });
    expect(await counts(young)).toEqual({ submission: 1, attachments: 1, mails: 2, events: 3, charges: expect.any(Number) });
  });

  it('anonymises the client address and user agent after retention.clientInfo; the rest of the row stays', async () => {
    await k().deleteFrom('submissions').execute();
    const base = clock.now().getTime();
    const v4 = await post('198.51.100.77', 'UA-v4');
    clock.advance(20 * DAY);
    const v6 = await post('2001:db8:1:2::5', 'UA-v6');
    const row = (id: string) => k().selectFrom('submissions').select(['ip', 'user_agent', 'fields', 'verdict', 'action']).where('id', '=', id).executeTakeFirstOrThrow();
    const before = { v4: await row(v4), v6: await row(v6) };
    expect(before.v4).toMatchObject({ ip: '198.51.100.77', user_agent: 'UA-v4' });
    expect(before.v6).toMatchObject({ ip: '2001:db8:1:2::5', user_agent: 'UA-v6' });
    const job = new PruneJob({ db: k(), config: instance.config, clock });

    clock.set(new Date(base + 30 * DAY - 1));
    expect((await job.report()).clientInfo).toBe(0);
    expect(await row(v4)).toEqual(before.v4);

    clock.set(new Date(base + 30 * DAY + 1));
    expect((await job.report()).clientInfo).toBe(1);
    expect(await row(v4)).toEqual({ ...before.v4, ip: '198.51.100.0/24', user_agent: '' });
    expect(await row(v6)).toEqual(before.v6);
    // The next pass has nothing left to do.
    expect((await job.report()).clientInfo).toBe(0);

    clock.advance(20 * DAY);
    expect((await job.report()).clientInfo).toBe(1);
    expect(await row(v6)).toEqual({ ...before.v6, ip: '2001:db8:1::/48', user_agent: '' });
    expect(await row(v4)).toEqual({ ...before.v4, ip: '198.51.100.0/24', user_agent: '' });
  });

  it('anonymisedIp keeps the network only', () => {
    expect(anonymisedIp('203.0.113.9')).toBe('203.0.113.0/24');
    expect(anonymisedIp('::ffff:203.0.113.9')).toBe('203.0.113.0/24');
    expect(anonymisedIp('2001:db8:abcd:12:1::1')).toBe('2001:db8:abcd::/48');
    expect(anonymisedIp('203.0.113.0/24')).toBe('203.0.113.0/24');
    expect(anonymisedIp('unknown')).toBe('');
  });

  it('retention windows: defaults, never, and the likely mistakes refused with a clear message', () => {
    const parse = (v: string) => parseConfigText(testConfigYaml({ dbUrl: 'sqlite::memory:', extra: `retention: { ${v} }` }), 'test').retention;
    expect(parse('submissions: never, clientInfo: 7d')).toEqual({ submissions: 'never', refused: '7d', attachments: '90d', clientInfo: '7d', dmarc: '365d' });
    expect(parse('dmarc: never').dmarc).toBe('never');
    expect(() => parse('submissions: 0')).toThrow(/retention\.submissions.*0 would delete at once: write never/s);
    expect(() => parse('clientInfo: 30')).toThrow(/retention\.clientInfo.*bare number here would be seconds: add a unit/s);
    expect(() => parse('clientInfo: soon')).toThrow(/retention\.clientInfo.*not a duration/s);
    expect(() => parse('refused: 0d')).toThrow(/retention\.refused.*0 would delete at once/s);
  });
});
