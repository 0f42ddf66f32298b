// Slow drip (issue 10, class 8): a bot that knows every trip rule stays just under each of them and takes
// a form's whole auto-reply cap, hour after hour, day after day. Hitting a cap is now a signal: a cap used
// up in monitor.capAlertHours (2) clock hours running alerts the owner (mail and webhook), once per streak.
// Everything runs through the real instance (HTTP posts, housekeeping) on a simulated clock.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { createInstance, type Instance } from '../main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { OPEN_DEFENSES, testConfigYaml } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';
import { watchedCaps } from './cap-watch.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

const form = (caps: string, id = 'contact', owner = 'owner@example.jp') => `
  - id: ${id}
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80 }
      - { name: email, type: email, required: true }
      - { name: message, type: textarea, required: true, maxLength: 5000 }
    notify: { to: [${owner}] }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}"${caps} }
`;

interface Sim {
  instance: Instance;
  clock: ManualClock;
  db: TestDatabase;
  hooks: unknown[];
  close(): Promise<void>;
}

async function simulation(caps: string, start: number, forms = form(caps), extra = ''): Promise<Sim> {
  const hooks: unknown[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const db = await createTestDatabase();
  const clock = new ManualClock(start);
  const yaml = testConfigYaml({ dbUrl: db.url, defenses: OPEN_DEFENSES, forms, extra: `alerts: { webhook: { url: "http://127.0.0.1:${port}/hook", format: json } }\n${extra}` });
  const instance = await createInstance({ config: parseConfigText(yaml, 'test'), file: null, baseDir: db.dir }, { clock, startWorker: false });
  return {
    instance,
    clock,
    db,
    hooks,
    async close() {
      await instance.close();
      await db.drop();
      await new Promise((r) => server.close(r));
    },
  };
}

let seq = 0;
/** One post as the bot sends it: every bot check passed, a fresh stranger's address, a fresh client address. */
async function post(sim: Sim, formId = 'contact'): Promise<number> {
  const i = ++seq;
  const honeypot = Object.fromEntries(sim.instance.config.defenses.honeypot.fields.map((f) => [f, '']));
  const res = await sim.instance.app.inject({
    method: 'POST',
    url: `/api/forms/${formId}/submissions`,
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.${(i >> 8) & 255}.${i & 255}` },
    payload: JSON.stringify({ name: `drip ${i}`, email: `victim${i}@victim-${i % 7}.example`, message: `message number ${i} of a patient bot`, ...honeypot, _token: sim.instance.defenses.tokens.issueToken(formId, sim.clock.now()) }),
  });
  return res.statusCode;
}

const capAlerts = async (sim: Sim, from: number) =>
  sim.instance.db.kysely.selectFrom('events').select(['at', 'detail']).where('kind', '=', 'alert').where('detail', 'like', 'cap:%').where('at', '>=', from).orderBy('at').execute();

/**
 * The rule, stated independently. A cap is used up in a clock hour when a charge in it reached the limit or
 * a post in it was refused by the cap. Alert: the hourly cap used up in n hours running, or the daily cap
 * used up at all.
 */
function shouldAlert(posts: number[], hourCap: number, dayCap: number, n: number): boolean {
  const charges: number[] = [];
  const usedHours = new Set<number>();
  let daily = false;
  for (const t of posts) {
    const inHour = charges.filter((c) => c > t - HOUR).length;
    const inDay = charges.filter((c) => c > t - 24 * HOUR).length;
    if (inHour >= hourCap) usedHours.add(Math.floor(t / HOUR));
    else if (inDay >= dayCap) daily = true;
    else {
      charges.push(t);
      if (inHour + 1 >= hourCap) usedHours.add(Math.floor(t / HOUR));
      if (inDay + 1 >= dayCap) daily = true;
    }
  }
  const hours = [...usedHours].sort((a, b) => a - b);
  let run = 0;
  let longest = 0;
  hours.forEach((h, i) => {
    run = i > 0 && hours[i - 1] === h - 1 ? run + 1 : 1;
    longest = Math.max(longest, run);
  });
  return daily || longest >= n;
}

describe.skipIf(dbUnavailable())('cap watch', () => {
  describe('property: any pacing of a bot that stays under the breaker', () => {
    const CAP = 4;
    const DAY_CAP = 12;
    let sim: Sim;
    const START = Date.UTC(2026, 0, 5);
    beforeAll(async () => {
      sim = await simulation(', caps: { perFormHour: 4, perFormDay: 12, perDomain: null }', START);
    });
    afterAll(async () => {
      await sim?.close();
    });

    it('alerts once when the hourly cap is used up 2+ clock hours running or the daily cap at all (at most once a day), never otherwise', async () => {
      let run = 0;
      let alerted = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              { weight: 1, arbitrary: fc.constant([] as number[]) },
              { weight: 4, arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: 59 }), { minLength: CAP - 2, maxLength: CAP + 1 }) },
            ),
            { minLength: 2, maxLength: 6 },
          ),
          async (hours) => {
            // Each run starts days after the previous one: no window or streak reaches across runs.
            const base = START + ++run * 5 * 24 * HOUR;
            sim.clock.set(new Date(base));
            const schedule = hours.flatMap((minutes, h) => minutes.map((m) => base + h * HOUR + m * MINUTE)).sort((a, b) => a - b);
            const end = base + hours.length * HOUR + 10 * MINUTE;
            let next = 0;
            for (let t = base; t <= end; t += MINUTE) {
              sim.clock.set(new Date(t));
              while (next < schedule.length && schedule[next]! <= t) {
                expect(await post(sim)).toBe(201);
                next++;
              }
              if ((t - base) % (5 * MINUTE) === 0) await sim.instance.housekeeping();
            }
            await sim.instance.housekeeping();
            // Once per streak, and at most once a day: every run here is shorter than a day.
            const expected = shouldAlert(schedule, CAP, DAY_CAP, 2) ? 1 : 0;
            const got = await capAlerts(sim, base);
            expect(got.map((a) => a.detail)).toEqual(Array(expected).fill('cap:form:contact'));
            alerted += expected;
            // The breaker never tripped: this bot stays under every trip rule.
            const open = await sim.instance.db.kysely.selectFrom('breakers').select('scope').where('state', '=', 'open').execute();
            expect(open).toEqual([]);
          },
        ),
        { numRuns: 25 },
      );
      // The property is only worth something if streaks were generated.
      expect(alerted).toBeGreaterThan(2);
      expect(alerted).toBeLessThan(run);
    }, 300_000);
  });

  it('over a simulated day: a drip at the full daily cap (default caps) is alerted once, by mail and webhook; one just below it is not', async () => {
    const START = Date.UTC(2026, 2, 2);
    for (const [perDay, expectAlert] of [[100, true], [99, false]] as const) {
      const sim = await simulation('', START);
      try {
        const step = Math.floor(86_400_000 / perDay) + (expectAlert ? 0 : 1000);
        let nextPost = START;
        let posts = 0;
        for (let t = START; t <= START + 27 * HOUR; t += 5 * MINUTE) {
          while (nextPost <= t) {
            sim.clock.set(new Date(nextPost));
            expect(await post(sim)).toBe(201);
            posts++;
            nextPost += step;
          }
          sim.clock.set(new Date(t));
          await sim.instance.housekeeping();
        }
        const k = sim.instance.db.kysely;
        const queued = await k.selectFrom('submissions').select('autoreply').execute();
        // Every auto-reply the caps allow was sent: the breaker never saw this bot.
        expect(queued.filter((r) => r.autoreply === 'queued').length).toBeGreaterThanOrEqual(Math.min(posts, perDay));
        expect(await k.selectFrom('breakers').select('scope').where('state', '=', 'open').execute()).toEqual([]);
        const alerts = await capAlerts(sim, START);
        const mails = await k.selectFrom('outbox').select(['to_addr', 'subject', 'body']).where('kind', '=', 'alert').execute();
        if (expectAlert) {
          expect(alerts.map((a) => a.detail)).toEqual(['cap:form:contact']);
          expect(mails).toHaveLength(1);
          expect(mails[0]!.to_addr).toBe('owner@example.jp');
          expect(mails[0]!.subject).toContain('form "contact" used up its auto-reply cap');
          expect(mails[0]!.subject).toContain('自動返信の上限');
          expect(mails[0]!.body).toContain('form-day: 100 per 24h');
          expect(sim.hooks).toEqual([expect.objectContaining({ type: 'cap_exhausted', scope: 'cap:form:contact', form: 'contact', caps: [{ scope: 'form-day', limit: 100, windowSeconds: 86_400 }] })]);
        } else {
          expect(alerts).toEqual([]);
          expect(mails).toEqual([]);
          expect(sim.hooks).toEqual([]);
        }
      } finally {
        await sim.close();
      }
    }
  }, 300_000);

  describe("a site's budget (sites[].autoreplyBudget)", () => {
    const CAPS = ', caps: { perFormHour: 10, perFormDay: 100, perDomain: null }';
    const FORMS = form(CAPS, 'shop-a', 'a-owner@example.jp') + form(CAPS, 'shop-b', 'b-owner@example.jp') + form(CAPS, 'other', 'other-owner@example.jp');
    const SITE = (forms: string) => `sites:\n  - { id: shop, forms: [${forms}], autoreplyBudget: { perHour: 3, perDay: 1000 } }`;

    it('used up by its forms together 2 clock hours running: one alert, to the owners of its forms only, by mail and webhook', async () => {
      const START = Date.UTC(2026, 3, 6);
      const sim = await simulation('', START, FORMS, SITE('shop-a, shop-b'));
      try {
        // Each hour: 4 posts shared by the site's two forms (each far under its own caps, together over the
        // site's 3 an hour), and 2 to the form outside the site.
        for (let h = 0; h < 3; h++) {
          for (let m = 0; m < 60; m += 5) {
            const t = START + h * HOUR + m * MINUTE;
            sim.clock.set(new Date(t));
            if (m < 20) expect(await post(sim, m % 10 === 0 ? 'shop-a' : 'shop-b')).toBe(201);
            if (m === 30 || m === 40) expect(await post(sim, 'other')).toBe(201);
            await sim.instance.housekeeping();
          }
        }
        const k = sim.instance.db.kysely;
        expect((await capAlerts(sim, START)).map((a) => a.detail)).toEqual(['cap:site:shop']);
        const mails = await k.selectFrom('outbox').select(['to_addr', 'subject', 'body']).where('kind', '=', 'alert').orderBy('to_addr').execute();
        expect(mails.map((m) => m.to_addr)).toEqual(['a-owner@example.jp', 'b-owner@example.jp']);
        expect(mails[0]!.subject).toContain('site "shop" (forms shop-a, shop-b) used up the site\'s budget (sites[].autoreplyBudget)');
        expect(mails[0]!.subject).toContain('サイト「shop」');
        expect(mails[0]!.body).toContain('site-hour: 3 per 1h');
        expect(mails[0]!.body).toContain('lower\nautoreply.caps (or sites[].autoreplyBudget)');
        expect(sim.hooks).toEqual([expect.objectContaining({ type: 'cap_exhausted', scope: 'cap:site:shop', form: null, forms: ['shop-a', 'shop-b'], caps: [{ scope: 'site-hour', limit: 3, windowSeconds: 3600 }] })]);
        // The budget held: 3 auto-replies an hour for the site; the other form's all went out.
        const sent = await k.selectFrom('submissions').select(['form_id', 'autoreply']).where('autoreply', '=', 'queued').execute();
        expect(sent.filter((r) => r.form_id !== 'other')).toHaveLength(9);
        expect(sent.filter((r) => r.form_id === 'other')).toHaveLength(6);
      } finally {
        await sim.close();
      }
    }, 300_000);

    it("a site with one sending form whose own caps are no higher than the budget is watched through the form; a lower budget is watched itself", () => {
      const config = (formCaps: string) => parseConfigText(testConfigYaml({ dbUrl: 'sqlite::memory:', defenses: OPEN_DEFENSES, forms: form(formCaps, 'shop-a'), extra: SITE('shop-a') }), 'test');
      expect(watchedCaps(config(', caps: { perFormHour: 3, perFormDay: 50 }'), { site: 'shop' })).toEqual([]);
      expect(watchedCaps(config(', caps: { perFormHour: 10, perFormDay: 50 }'), { site: 'shop' }).map((c) => [c.scope, c.limit])).toEqual([['site-hour', 3], ['site-day', 1000]]);
      expect(watchedCaps(config(', caps: { perFormHour: 3, perFormDay: 50 }'), 'shop-a').map((c) => c.scope)).toEqual(['form-hour', 'form-day']);
    });
  });
});
