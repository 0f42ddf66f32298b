// The circuit breaker and its alerts: a trip stops the form's auto-replies (pending ones cancelled),
// raises the proof-of-work difficulty, alerts the owner by mail and webhook (rate-limited); after the
// cool-down it is half-open, then closed after a calm window.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { dbUnavailable } from '../../test/support/db.js';
import { BASE_FORM, startTestInstance, testConfigYaml, type TestInstance } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';
import { alertText, webhookPayload } from './alerts.js';
import type { TripInfo } from './breaker.js';

const DEFENSES = `
defenses:
  formToken: { minFillSeconds: 0, maxAgeMinutes: 100000 }
  altcha: { cost: 10, minNumber: 5, maxNumber: 40, raisedFactor: 4 }
  rateLimit: { enabled: false }
  content: { enabled: false }
  geo: { enabled: false }
  symbols: { ALTCHA_MISSING: 0 }
`;

describe.skipIf(dbUnavailable())('circuit breaker', () => {
  const hooks: { headers: IncomingMessage['headers']; body: string }[] = [];
  const hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.end('ok');
    });
  });
  let hookUrl = '';
  beforeAll(async () => {
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise((r) => hookServer.close(r));
  });

  async function post(t: TestInstance, clock: ManualClock, i: number) {
    clock.advance(1000);
    const token = t.instance.defenses.tokens.issueToken('contact', clock.now());
    const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `192.0.2.${i}` },
      body: JSON.stringify({ name: `Bot ${i}`, email: `v${i}@d${i}.example`, message: `visit http://spam.example.ru/${i}`, _token: token, website: '' }),
    });
    expect(res.status).toBe(201);
  }

  it('trips on a hard limit: auto-replies stop, pending ones are cancelled, difficulty rises, the owner is alerted once by mail and webhook', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 10, 9, 0, 0));
    const t = await startTestInstance({
      clock,
      startWorker: false,
      defenses: DEFENSES,
      forms: BASE_FORM.replace('delay: 0s', 'delay: 2m'),
      extra: `monitor: { windowSeconds: 600, coolDownSeconds: 1800, form: { submissions: 5 } }
alerts: { webhook: { url: "${hookUrl}", format: json }, minInterval: 2h }`,
    });
    const k = t.instance.db.kysely;
    try {
      const before = t.instance.defenses.altcha!.difficulty('contact');
      for (let i = 0; i < 6; i++) await post(t, clock, i);
      expect(await k.selectFrom('outbox').select('id').where('kind', '=', 'autoreply').where('state', '=', 'pending').execute()).toHaveLength(6);
      const trips = await t.instance.monitor.tick();
      expect(trips.map((x) => [x.scope, x.reason])).toEqual([['form:contact', 'submissions 6 in 600s > limit 5']]);
      await t.instance.housekeeping();
      expect(t.instance.monitor.isOpen('contact')).toBe(true);

      // Pending auto-replies were cancelled and their caps refunded.
      const cancelled = await k.selectFrom('outbox').select(['state', 'last_error']).where('kind', '=', 'autoreply').execute();
      expect(cancelled.every((c) => c.state === 'cancelled' && c.last_error === 'breaker')).toBe(true);
      expect(await k.selectFrom('relay_charges').selectAll().execute()).toHaveLength(0);
      // New submissions are stored, notified, but get no auto-reply.
      await post(t, clock, 7);
      const last = await k.selectFrom('submissions').select('autoreply').orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirstOrThrow();
      expect(last.autoreply).toBe('skipped:breaker');
      // The proof-of-work is harder while the breaker is open.
      expect(t.instance.defenses.altcha!.difficulty('contact').maxNumber).toBeGreaterThan(before.maxNumber);

      // One alert mail to the owner, and one webhook call, with defanged samples.
      const alerts = await k.selectFrom('outbox').selectAll().where('kind', '=', 'alert').execute();
      expect(alerts.map((a) => a.to_addr)).toEqual(['owner@example.jp']);
      expect(alerts[0]!.subject).toContain('auto-replies stopped');
      expect(alerts[0]!.body).toContain('submissions 6 in 600s > limit 5');
      expect(alerts[0]!.body).toContain('hxxp://spam[.]example[.]ru');
      expect(alerts[0]!.body).not.toContain('http://spam.example.ru');
      expect(hooks).toHaveLength(1);
      const hook = JSON.parse(hooks[0]!.body) as { type: string; form: string; stats: { submissions: number; topIps: unknown[]; topDomains: unknown[]; samples: { fields: Record<string, string> }[] } };
      expect(hook).toMatchObject({ type: 'breaker_tripped', form: 'contact', stats: { submissions: 6 } });
      // The alert carries the top sources and recipient domains (counted only when there is something to report).
      expect([hook.stats.topIps.length, hook.stats.topDomains.length]).toEqual([5, 5]);
      expect(JSON.stringify(hook.stats.samples)).not.toContain('http://spam');

      // Half-open after the cool-down; the attack goes on, so it opens again, but the alert is rate-limited.
      clock.advance(1_800_000);
      await t.instance.housekeeping();
      expect(t.instance.monitor.state('form:contact')).toBe('half_open');
      for (let i = 10; i < 17; i++) await post(t, clock, i);
      await t.instance.housekeeping();
      expect(t.instance.monitor.state('form:contact')).toBe('open');
      expect(hooks).toHaveLength(1);

      // Calm: half-open after the cool-down, closed after a quiet window; auto-replies resume.
      clock.advance(1_800_000);
      await t.instance.housekeeping();
      expect(t.instance.monitor.state('form:contact')).toBe('half_open');
      clock.advance(600_000);
      await t.instance.housekeeping();
      expect(t.instance.monitor.state('form:contact')).toBe('closed');
      await post(t, clock, 40);
      const resumed = await k.selectFrom('submissions').select('autoreply').orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirstOrThrow();
      expect(resumed.autoreply).toBe('queued');
    } finally {
      await t.close();
    }
  });

  it('posts refused at the door: an "attack observed" notice (once per minInterval), a harder proof-of-work, pending auto-replies left alone; a later trip still alerts', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 12, 9, 0, 0));
    const t = await startTestInstance({
      clock,
      startWorker: false,
      defenses: DEFENSES,
      forms: BASE_FORM.replace('delay: 0s', 'delay: 2m'),
      extra: `monitor: { form: { submissions: 5 } }
alerts: { minInterval: 2h }`,
    });
    const k = t.instance.db.kysely;
    try {
      const before = t.instance.defenses.altcha!.difficulty('contact');
      await post(t, clock, 1);
      for (let i = 0; i < 24; i++) {
        clock.advance(1000);
        const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.${113 + (i % 6)}.9` },
          body: JSON.stringify({ name: 'Bot', email: `b${i}@bots.example`, message: 'x', _token: `junk-${i}`, website: '' }),
        });
        await res.arrayBuffer();
      }
      expect((await t.instance.monitor.stats('contact', 0, clock.now().getTime())).rejected).toBeGreaterThanOrEqual(20);
      const trips = await t.instance.monitor.tick();
      expect(trips.map((x) => [x.scope, x.kind])).toEqual([['form:contact', 'attack'], ['instance', 'attack']]);
      clock.advance(60_000);
      await t.instance.housekeeping();
      expect(t.instance.monitor.state('form:contact')).toBe('closed');
      expect(t.instance.monitor.state('instance')).toBe('closed');
      expect(t.instance.monitor.underAttack('contact')).toBe(true);
      expect(t.instance.defenses.altcha!.difficulty('contact').maxNumber).toBeGreaterThan(before.maxNumber);
      // The genuine visitor's auto-reply is still waiting to go.
      expect((await k.selectFrom('outbox').select('state').where('kind', '=', 'autoreply').execute()).map((r) => r.state)).toEqual(['pending']);
      const alerts = async () => (await k.selectFrom('outbox').select('subject').where('kind', '=', 'alert').execute()).map((a) => a.subject);
      // One notice per scope (the form's owners; the instance's: every form's owners), not one per tick.
      expect((await alerts()).filter((s) => s.includes('attack observed'))).toHaveLength(2);
      expect(await k.selectFrom('events').select('detail').where('kind', '=', 'attack').execute()).toHaveLength(2);

      // Accepted posts over the limit trip the breaker, and its alert is not held back by the notice.
      for (let i = 10; i < 16; i++) await post(t, clock, i);
      await t.instance.housekeeping();
      expect(t.instance.monitor.isOpen('contact')).toBe(true);
      expect((await alerts()).filter((s) => s.includes('auto-replies stopped'))).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('window figures: counts as the stored rows say, the two latest posts as samples, the baseline counted by the database', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 12, 9, 0, 0));
    const t = await startTestInstance({ clock, startWorker: false, defenses: DEFENSES, extra: 'monitor: { form: { submissions: 1000 } }' });
    try {
      const start = clock.now().getTime();
      for (let i = 0; i < 7; i++) await post(t, clock, i);
      const to = clock.now().getTime();
      const k = t.instance.db.kysely;
      const rows = await k.selectFrom('submissions').select(['action', 'autoreply', 'autoreply_to', 'ip', 'fields', 'created_at']).orderBy('created_at').execute();
      expect(rows).toHaveLength(7);
      // Two of them refused after the fact (as moderation would mark them): they count as rejected.
      await k.updateTable('submissions').set({ action: 'quarantine' }).where('created_at', '<=', rows[1]!.created_at).execute();
      const s = await t.instance.monitor.stats(['contact'], start, to);
      expect(s.submissions).toBe(7);
      expect(s.rejected).toBe(2);
      expect(s.autoreplies).toBe(rows.filter((r) => r.autoreply === 'queued').length);
      expect(s.recipientDomains).toBe(7);
      expect(s.topIps).toHaveLength(5);
      // The samples are the two latest posts, oldest first, with their fields.
      expect(s.samples.map((x) => x.ip)).toEqual(['192.0.2.5', '192.0.2.6']);
      expect(s.samples.map((x) => x.fields.name)).toEqual(['Bot 5', 'Bot 6']);
      // The baseline's figures (no detail) agree on the counts.
      const base = await t.instance.monitor.stats(['contact'], start, to, false);
      expect([base.submissions, base.rejected, base.autoreplies]).toEqual([7, 2, s.autoreplies]);
      expect(base.samples).toEqual([]);
      // Another window, another form: nothing.
      expect((await t.instance.monitor.stats(['contact'], to, to + 60_000)).submissions).toBe(0);
      expect((await t.instance.monitor.stats(['other'], start, to, false)).submissions).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('reset closes an open breaker at once', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 11, 9, 0, 0));
    const t = await startTestInstance({ clock, startWorker: false, defenses: DEFENSES, extra: 'monitor: { form: { submissions: 2 } }' });
    try {
      for (let i = 0; i < 3; i++) await post(t, clock, i);
      await t.instance.housekeeping();
      expect(t.instance.monitor.isOpen('contact')).toBe(true);
      expect(await t.instance.monitor.reset('form:contact')).toBe(true);
      expect(t.instance.monitor.isOpen('contact')).toBe(false);
      expect(await t.instance.monitor.reset('form:nope')).toBe(false);
    } finally {
      await t.close();
    }
  });
});

describe('alert webhooks', () => {
  const config = parseConfigText(testConfigYaml({ dbUrl: 'sqlite::memory:' }), 'test');
  const trip: TripInfo = {
    scope: 'form:contact',
    formId: 'contact',
    reason: 'submissions 99 in 600s > limit 60',
    stats: { submissions: 99, autoreplies: 3, recipientDomains: 40, rejected: 1, bounces: 0, bounceDomains: 0, sent: 3, topIps: [['192.0.2.1', 50]], topDomains: [['victim.example', 9]], samples: [{ ip: '192.0.2.1', fields: { name: 'x', message: 'go to https://spam.example.ru now' } }] },
  };
  const text = alertText(config, trip);

  it('Slack: one text field with the subject in bold and the body as a code block', () => {
    const p = webhookPayload('slack', config, trip);
    expect(p.contentType).toBe('application/json');
    const body = JSON.parse(p.body) as { text: string };
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text.startsWith(`*${text.subject}*\n\`\`\``)).toBe(true);
    expect(body.text).toContain('hxxps://spam[.]example[.]ru');
  });

  it('Chatwork: a form-encoded body with an [info] block', () => {
    const p = webhookPayload('chatwork', config, trip);
    expect(p.contentType).toBe('application/x-www-form-urlencoded');
    const body = new URLSearchParams(p.body).get('body')!;
    expect(body.startsWith(`[info][title]${text.subject}[/title]`)).toBe(true);
    expect(body.endsWith('[/info]')).toBe(true);
  });

  it('the alert text names the counts, top sources and networks, top recipient domains, in English and Japanese', () => {
    expect(text.body).toContain('submissions / 送信数: 99');
    expect(text.body).toContain('192.0.2.1: 50');
    expect(text.body).toContain('192.0.2.0/24: 50');
    expect(text.body).toContain('victim[.]example: 9');
    expect(text.body).toContain('自動返信を停止しました');
    expect(text.body).not.toContain('https://spam');
  });
});
