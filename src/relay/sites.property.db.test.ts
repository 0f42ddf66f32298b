// Property: whatever the sites (random assignments of forms to sites, random site and instance budgets) and
// whatever the order of posts (random forms, repeated addresses and domains), no site's auto-replies exceed its
// budget, the instance budget holds over all of them, and a mail is refused only when one of its budgets is full
// (the stored outcome is exactly that of counting every budget by hand).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { acceptSubmission, capPolicyFor } from '../submissions/accept.js';
import { dbUnavailable, useMigratedDatabase } from '../../test/support/db.js';
import { BASE_FORM, testConfigYaml } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';
import { capKeys } from './caps.js';

const FORM_IDS = ['f0', 'f1', 'f2', 'f3'];

describe.skipIf(dbUnavailable())('site budgets (property)', () => {
  const fresh = useMigratedDatabase();

  it('no site exceeds its budget, the instance budget holds overall, and nothing is refused with room left', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 10, 9, 0, 0));
    const scenario = fc.record({
      forms: fc.integer({ min: 1, max: 4 }),
      assignment: fc.array(fc.integer({ min: -1, max: 2 }), { minLength: 4, maxLength: 4 }),
      siteBudgets: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 3, maxLength: 3 }),
      instanceBudget: fc.integer({ min: 1, max: 12 }),
      posts: fc.array(fc.record({ form: fc.nat(), address: fc.integer({ min: 0, max: 15 }) }), { minLength: 1, maxLength: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        // Each run an hour and a day after the last: earlier charges are outside every window.
        clock.advance(3 * 86_400_000);
        const ids = FORM_IDS.slice(0, s.forms);
        const sites = [0, 1, 2]
          .map((n) => ({ n, forms: ids.filter((_, i) => s.assignment[i] === n) }))
          .filter((x) => x.forms.length > 0)
          .map((x) => `  - { id: s${x.n}, forms: [${x.forms.join(', ')}], autoreplyBudget: { perHour: ${s.siteBudgets[x.n]}, perDay: 1000 } }`);
        const forms = ids.map((id) => BASE_FORM.replace('id: contact', `id: ${id}`)).join('');
        const parsed = parseConfigText(testConfigYaml({ dbUrl: fresh.tdb.url, forms, extra: sites.length ? `sites:\n${sites.join('\n')}` : '' }), 'property');
        const config: Config = { ...parsed, mail: { ...parsed.mail, autoreplyBudget: { perHour: s.instanceBudget, perDay: 1000 } } };

        const used = new Map<string, number>();
        const perSite = new Map<string, number>();
        let total = 0;
        for (const [i, p] of s.posts.entries()) {
          clock.advance(1000);
          const form = config.forms[p.form % ids.length]!;
          const email = `u${p.address}@d${p.address % 5}.example`;
          const r = await acceptSubmission({ config, db: fresh.db, clock, fromAddress: 'info@example.jp' }, { form, raw: { name: `V ${i}`, email, message: 'Hello there' }, ip: '192.0.2.1', userAgent: 'fc', lang: 'en' });
          expect(r.kind).toBe('accepted');
          if (r.kind !== 'accepted') return;
          // The model: every budget this mail draws from, counted by hand.
          const policy = capPolicyFor(config, form);
          const keys = capKeys(form.id, email, policy);
          const full = keys.find((k) => (used.get(k.key) ?? 0) >= k.limit);
          expect(r.autoreply).toBe(full ? `skipped:cap:${full.scope}` : 'queued');
          if (r.autoreply === 'queued') {
            for (const k of keys) used.set(k.key, (used.get(k.key) ?? 0) + 1);
            if (policy.site) perSite.set(policy.site.id, (perSite.get(policy.site.id) ?? 0) + 1);
            total++;
          }
        }
        for (const site of config.sites) expect(perSite.get(site.id) ?? 0).toBeLessThanOrEqual(site.autoreplyBudget.perHour);
        expect(total).toBeLessThanOrEqual(s.instanceBudget);
        // And as stored: the queued auto-replies of this run, per site and overall.
        const since = clock.now().getTime() - s.posts.length * 1000 - 1;
        const rows = await fresh.db.kysely.selectFrom('submissions').select(['form_id']).where('created_at', '>=', since).where('autoreply', '=', 'queued').execute();
        expect(rows.length).toBe(total);
        for (const site of config.sites) {
          expect(rows.filter((x) => site.forms.includes(x.form_id)).length).toBeLessThanOrEqual(site.autoreplyBudget.perHour);
        }
      }),
      { numRuns: 40 },
    );
  });
});
