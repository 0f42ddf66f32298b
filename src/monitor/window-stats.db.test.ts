// The breaker's window figures (Monitor.stats) counted and ranked by the database, on SQLite and PostgreSQL:
// whatever the window holds (addresses with several '@', no auto-reply address, many sources), the counts,
// the number of recipient domains and the top sources and domains are what the rows say.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { dbUnavailable, useMigratedDatabase } from '../../test/support/db.js';
import { BASE_FORM, testConfigYaml } from '../../test/support/instance.js';
import { addressDomain } from '../relay/address.js';
import { ManualClock } from '../util/clock.js';
import { Monitor, WINDOW_ROWS } from './breaker.js';

const row = fc.record({
  ip: fc.constantFrom('192.0.2.1', '192.0.2.2', '198.51.100.7', '2001:db8::1', '203.0.113.9', '10.0.0.1', '10.0.0.2'),
  to: fc.option(fc.constantFrom('a@x.example', 'b@x.example', 'c@y.example', '"q@r"@z.example', 'd@sub.y.example', 'e@xn--r8jz45g.example'), { nil: null }),
  action: fc.constantFrom('accept', 'accept', 'quarantine', 'reject'),
  autoreply: fc.constantFrom('queued', 'skipped:cap:form-hour', 'none'),
  form: fc.constantFrom('contact', 'other'),
});

/** The top list checked against counts: every entry's count is right, and nothing left out beats the last one. */
function expectTop(top: [string, number][], counts: Map<string, number>) {
  expect(top.length).toBe(Math.min(5, counts.size));
  for (const [name, n] of top) expect(counts.get(name)).toBe(n);
  const floor = top.length ? top[top.length - 1]![1] : 0;
  for (const [name, n] of counts) if (n > floor) expect(top.map(([x]) => x)).toContain(name);
}

describe.skipIf(dbUnavailable())('window figures counted by the database', () => {
  const fresh = useMigratedDatabase();

  it('counts, recipient domains and top sources and domains are what the rows say', async () => {
    const forms = BASE_FORM + BASE_FORM.replace('id: contact', 'id: other');
    const config = parseConfigText(testConfigYaml({ dbUrl: fresh.tdb.url, forms }), 'window');
    const clock = new ManualClock(Date.UTC(2026, 10, 20, 9, 0, 0));
    const monitor = new Monitor({ db: fresh.db.kysely, dialect: fresh.db.dialect, config, clock });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 0, maxLength: 40 }), async (rows) => {
        // Each run its own hour.
        clock.advance(3_600_000);
        const from = clock.now().getTime();
        for (const [i, r] of rows.entries()) {
          await fresh.db.kysely
            .insertInto('submissions')
            .values({ id: `w${++n}`, form_id: r.form, created_at: from + 1 + i, ip: r.ip, user_agent: '', lang: 'en', fields: JSON.stringify({ name: `n${i}` }), action: r.action, score: 0, verdict: '{}', autoreply: r.autoreply, notify: 'none', content_hash: '', autoreply_to: r.to })
            .execute();
        }
        const to = from + rows.length;
        const mine = rows.filter((r) => r.form === 'contact');
        const s = await monitor.stats(['contact'], from, to);
        expect(s.submissions).toBe(mine.length);
        expect(s.rejected).toBe(mine.filter((r) => r.action !== 'accept').length);
        expect(s.autoreplies).toBe(mine.filter((r) => r.autoreply === 'queued').length);
        const tally = (keys: string[]) => keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
        const domains = tally(mine.flatMap((r) => (r.to ? [addressDomain(r.to)] : [])));
        expect(s.recipientDomains).toBe(domains.size);
        expectTop(s.topDomains, domains);
        expectTop(s.topIps, tally(mine.map((r) => r.ip)));
        expect(s.samples.length).toBe(Math.min(2, mine.length));
      }),
      { numRuns: 30 },
    );
  });

  it(`a flood's window is counted over its newest ${WINDOW_ROWS.toLocaleString('en')} posts: the tick's work is bounded`, async () => {
    const config = parseConfigText(testConfigYaml({ dbUrl: fresh.tdb.url, forms: BASE_FORM }), 'window');
    const at = Date.UTC(2026, 11, 20, 9, 0, 0);
    const monitor = new Monitor({ db: fresh.db.kysely, dialect: fresh.db.dialect, config, clock: new ManualClock(at) });
    // 5,000 older posts from one source to one domain, then WINDOW_ROWS newer ones from another, all in the window.
    const older = 5_000;
    const total = older + WINDOW_ROWS;
    for (let start = 0; start < total; start += 1_000) {
      const values = Array.from({ length: Math.min(1_000, total - start) }, (_, j) => {
        const i = start + j;
        const old = i < older;
        return { id: `f${i}`, form_id: 'contact', created_at: at - 500_000 + i, ip: old ? '198.51.100.1' : '203.0.113.1', user_agent: '', lang: 'en', fields: '{}', action: old ? 'accept' : 'reject', score: 0, verdict: '{}', autoreply: 'none', notify: 'none', content_hash: '', autoreply_to: old ? 'a@old.example' : 'b@new.example' };
      });
      await fresh.db.kysely.insertInto('submissions').values(values).execute();
    }
    const s = await monitor.stats(['contact'], at - 600_000, at);
    expect([s.submissions, s.rejected]).toEqual([WINDOW_ROWS, WINDOW_ROWS]);
    expect(s.topIps).toEqual([['203.0.113.1', WINDOW_ROWS]]);
    expect([s.recipientDomains, s.topDomains]).toEqual([1, [['new.example', WINDOW_ROWS]]]);
  });
});
