// The inbox's keyset pages: walking "older" from the newest visits exactly the rows the user may see, in
// time order (ties broken by id), each once, whatever the mix of forms, equal times and filters (one
// form, all forms, or a member's several forms, read one query per form and merged).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { decodeCursor, listInbox } from './inbox.js';

const FORM = (id: string) => `
  - id: ${id}
    title: { ja: ${id}, en: ${id} }
    fields:
      - { name: name, type: text, label: { ja: お名前, en: Name } }
      - { name: email, type: email, label: { ja: メール, en: Email } }
      - { name: message, type: textarea, label: { ja: 内容, en: Message } }
    notify: { to: [o@example.jp], subject: x }`;

describe.skipIf(dbUnavailable())('inbox pages', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false, forms: FORM('a') + FORM('b') + FORM('c') });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('property: every page walk returns exactly the visible rows, newest first, each once', async () => {
    const k = t.instance.db.kysely;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ form: fc.constantFrom('a', 'b', 'c'), at: fc.integer({ min: 0, max: 5 }), action: fc.constantFrom('accept', 'quarantine'), word: fc.constantFrom('見積もり', 'hello', '100%_x') }), { maxLength: 40 }),
        fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
        fc.integer({ min: 1, max: 7 }),
        fc.option(fc.constantFrom('accept', 'quarantine'), { nil: undefined }),
        fc.option(fc.constantFrom('見積もり', '100%_x', 'HELLO'), { nil: undefined }),
        async (rows, forms, limit, action, q) => {
          run++;
          await k.deleteFrom('submissions').execute();
          const base = 1_800_000_000_000;
          if (rows.length) {
            await k
              .insertInto('submissions')
              .values(
                rows.map((r, i) => ({
                  id: `s_${String(run).padStart(4, '0')}${String(i).padStart(4, '0')}`,
                  form_id: r.form,
                  created_at: base + r.at,
                  ip: '192.0.2.1',
                  user_agent: '',
                  lang: 'ja',
                  fields: JSON.stringify({ name: 'n', email: 'v@example.jp', message: r.word }),
                  action: r.action,
                  score: 0,
                  verdict: '{"symbols":[]}',
                  autoreply: 'none',
                  notify: 'none',
                  content_hash: '',
                  autoreply_to: null,
                })),
              )
              .execute();
          }
          const expected = rows
            .map((r, i) => ({ ...r, id: `s_${String(run).padStart(4, '0')}${String(i).padStart(4, '0')}` }))
            .filter((r) => forms.includes(r.form) && (!action || r.action === action) && (!q || r.word.toLowerCase().includes(q.toLowerCase())))
            .sort((x, y) => y.at - x.at || (x.id < y.id ? 1 : -1))
            .map((r) => r.id);
          const seen: string[] = [];
          let before: { at: number; id: string } | undefined;
          for (let pages = 0; pages < 100; pages++) {
            const page = await listInbox(k, t.instance.db.dialect, t.instance.config, { forms, action, q, before, limit }, 'ja');
            seen.push(...page.rows.map((r) => r.id));
            if (!page.next) break;
            before = decodeCursor(page.next);
          }
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});
