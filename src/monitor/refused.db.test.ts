// Property test over HTTP against a real instance (issue 10, class 6): posts refused at the door (a junk
// `_token`, no proof-of-work) send no mail, so however many arrive, from however few addresses, they do
// not open the form's or the instance's breaker. They raise the proof-of-work difficulty and tell the
// owner ("attack observed", rate-limited), and a genuine visitor who comes next still gets an auto-reply.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postSubmission, prepareForm } from '../client/protocol.js';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';

// Addresses with a country in the pinned database (the geo defense scores unknown ones), one per run.
const GENUINE = ['1.0.16.1', '133.242.0.1', '210.130.0.1', '202.32.0.1'];
const net = (ip: string) => ip.split('.').slice(0, 3).join('.');

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/);
const junkPost = fc.record({
  name: fc.string({ minLength: 1, maxLength: 40 }).filter((x) => /\S/.test(x)),
  email: fc.tuple(word, word).map(([l, d]) => `${l}@${d}.example`),
  message: fc.string({ minLength: 1, maxLength: 200 }).filter((x) => /\S/.test(x)),
  _token: fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.base64String({ minLength: 4, maxLength: 120 }), fc.constant('x')),
  altcha: fc.option(fc.base64String({ maxLength: 60 }), { nil: undefined }),
  json: fc.boolean(),
});
const attack = fc.record({
  // Four or more networks: each address is banned after a few refusals, so fewer could not post 20.
  ips: fc.uniqueArray(fc.ipV4().filter((ip) => !GENUINE.some((g) => net(g) === net(ip)) && !ip.startsWith('127.')), { minLength: 4, maxLength: 8, selector: net }),
  posts: fc.array(junkPost, { minLength: 20, maxLength: 36 }),
});

describe.skipIf(dbUnavailable())('posts refused at the door', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 12, 9, 0, 0));
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ clock, startWorker: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('never open the breaker; they raise the proof-of-work and alert the owner; a genuine visitor still gets an auto-reply', async () => {
    const k = t.instance.db.kysely;
    const base = t.instance.defenses.altcha!.difficulty('contact').maxNumber;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(attack, async ({ ips, posts }) => {
        // Each run in a fresh window (and after the previous run's cool-down).
        clock.advance(3 * 3_600_000);
        run++;
        const since = clock.now().getTime();
        for (const [i, p] of posts.entries()) {
          clock.advance(500);
          const ip = ips[i % ips.length]!;
          const fields: Record<string, string> = { name: p.name, email: p.email, message: p.message, _token: p._token, ...(p.altcha ? { altcha: p.altcha } : {}) };
          const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
            method: 'POST',
            headers: { 'x-forwarded-for': ip, accept: 'application/json', 'content-type': p.json ? 'application/json' : 'application/x-www-form-urlencoded' },
            body: p.json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
          });
          expect(res.status).toBeLessThan(500);
          await res.arrayBuffer();
        }
        const refused = await k.selectFrom('submissions').select('action').where('created_at', '>', since).execute();
        expect(refused.every((r) => r.action === 'reject' || r.action === 'quarantine')).toBe(true);
        // (An address banned in an earlier run, as when shrinking, may leave fewer than the sample size.)
        fc.pre(refused.length >= t.instance.config.monitor.minSample);
        await t.instance.housekeeping();

        expect(t.instance.monitor.state('form:contact')).not.toBe('open');
        expect(t.instance.monitor.state('instance')).not.toBe('open');
        expect(t.instance.monitor.isOpen('contact')).toBe(false);
        // Told, and the proof-of-work is harder for the next posts.
        const told = await k.selectFrom('outbox').select('subject').where('kind', '=', 'alert').where('created_at', '>=', since).execute();
        expect(told.some((a) => a.subject.includes('auto-replies stopped'))).toBe(false);
        expect(told.some((a) => a.subject.includes('attack observed'))).toBe(true);
        expect(t.instance.defenses.altcha!.difficulty('contact').maxNumber).toBeGreaterThan(base);

        // A genuine visitor, through the protocol (token, honeypot, the raised proof-of-work).
        const ip = GENUINE[run % GENUINE.length]!;
        clock.advance(1000);
        const prepared = await prepareForm(t.url, 'contact', { headers: { 'x-forwarded-for': ip } });
        const res = await postSubmission(t.url, 'contact', { name: 'Sato', email: `sato${run}@genuine${run}.example.jp`, message: 'What are your opening hours?', ...prepared.fields }, { headers: { 'x-forwarded-for': ip } });
        const body = (await res.json()) as { id?: string; status?: string };
        expect(res.status).toBe(201);
        const row = await k.selectFrom('submissions').select(['autoreply', 'action']).where('id', '=', body.id!).executeTakeFirstOrThrow();
        expect(row).toEqual({ action: 'accept', autoreply: 'queued' });
        const queued = await k.selectFrom('outbox').select('state').where('submission_id', '=', body.id!).where('kind', '=', 'autoreply').executeTakeFirstOrThrow();
        expect(queued.state).toBe('pending');
      }),
      { numRuns: 4 },
    );
  }, 240_000);
});
