// The owner's digest after a long attack: however many submissions wait for it, one digest names the oldest
// 50, counts every one of them (and the quarantined among them) exactly, and marks them all, so the next
// digest starts from zero. Before, it read at most 10,000 rows, with their fields, into memory: a larger
// backlog was reported as 10,000 and the rest came back in the next digests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';
import { sendDigests } from './digest.js';

const clock = new ManualClock(Date.UTC(2026, 5, 1, 9, 0, 0));
const WAITING = 10_050;
const QUARANTINED = 37;

describe.skipIf(dbUnavailable())('digests of a large backlog', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false, clock });
    const k = t.instance.db.kysely;
    const start = clock.now().getTime() - 20 * 86_400_000;
    const row = (i: number, form: string, notify: string) => ({
      id: `s_${form}_${String(i).padStart(6, '0')}`,
      form_id: form,
      created_at: start + i * 1000,
      ip: '203.0.113.9',
      user_agent: 'bot',
      lang: 'ja',
      fields: JSON.stringify({ name: `visitor ${i}`, email: `v${i}@example.net`, message: `see http://spam${i}.example/offer` }),
      action: i % 271 === 5 && i < 271 * QUARANTINED ? 'quarantine' : 'accept',
      score: 0,
      verdict: '{"symbols":[]}',
      autoreply: 'none',
      notify,
      content_hash: '',
      autoreply_to: null,
    });
    const values = [
      ...Array.from({ length: WAITING }, (_, i) => row(i, 'contact', 'digest')),
      // Not this digest's: already digested, notified one by one, or another form's.
      ...Array.from({ length: 5 }, (_, i) => row(i, 'old', 'digested')),
      ...Array.from({ length: 5 }, (_, i) => row(WAITING + i, 'contact', 'queued')),
    ];
    for (let i = 0; i < values.length; i += 500) await k.insertInto('submissions').values(values.slice(i, i + 500)).execute();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it(`${WAITING} waiting: one digest per recipient with the exact counts, the oldest 50 named, every one marked`, async () => {
    const k = t.instance.db.kysely;
    const { config } = t.instance;
    const sent = await sendDigests(k, config, clock, 'info@example.jp', t.instance.db.dialect);
    const digests = await k.selectFrom('outbox').select(['to_addr', 'subject', 'body']).where('kind', '=', 'digest').execute();
    expect(sent).toBe(config.forms.find((f) => f.id === 'contact')!.notify.to.length);
    expect(digests).toHaveLength(sent);
    const [d] = digests;
    expect(d!.subject).toContain(`: ${WAITING} inquiries (${QUARANTINED} quarantined) / ${WAITING}件のお問い合わせ（保留 ${QUARANTINED}件）`);
    expect(d!.body).toContain(`${WAITING} submissions to`);
    expect(d!.body).toContain(`… and ${WAITING - 50} more / ほか ${WAITING - 50} 件`);
    const named = [...d!.body.matchAll(/ (s_contact_\d{6}) \[/g)].map((m) => m[1]);
    expect(named).toEqual(Array.from({ length: 50 }, (_, i) => `s_contact_${String(i).padStart(6, '0')}`));
    // Links in what the visitor typed stay inert in the owner's mail.
    expect(d!.body).not.toContain('http://spam');
    expect(d!.body).toContain('hxxp://spam0[.]example/offer');

    const states = await k.selectFrom('submissions').select(['notify', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('notify').orderBy('notify').execute();
    expect(states.map((s) => [s.notify, Number(s.n)])).toEqual([['digested', WAITING + 5], ['queued', 5]]);
    const event = await k.selectFrom('events').select('detail').where('kind', '=', 'digest').executeTakeFirstOrThrow();
    expect(event.detail).toBe(String(WAITING));
  });

  it('the next digest, due later, has nothing to send; a submission stored after it goes in the one after', async () => {
    const k = t.instance.db.kysely;
    const { config } = t.instance;
    clock.advance(7 * 86_400_000);
    expect(await sendDigests(k, config, clock, 'info@example.jp', t.instance.db.dialect)).toBe(0);
    await k.updateTable('submissions').set({ notify: 'digest' }).where('id', '=', `s_contact_${String(WAITING).padStart(6, '0')}`).execute();
    const sent = await sendDigests(k, config, clock, 'info@example.jp', t.instance.db.dialect);
    expect(sent).toBeGreaterThan(0);
    const latest = await k.selectFrom('outbox').select('subject').where('kind', '=', 'digest').orderBy('created_at', 'desc').limit(1).executeTakeFirstOrThrow();
    expect(latest.subject).toContain(': 1 inquiries (0 quarantined)');
  });
});
