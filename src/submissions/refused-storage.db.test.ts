// Bounded storage for junk (issue 10, class 9): a bot that solves nothing (a junk form token, no or junk
// proof-of-work) can post as fast as the rate limits let it. Whatever it posts, from however many
// addresses, each post grows the database by at most a small bound, and none of its field values (nor its
// user agent) is stored: refused posts are kept as compact records only.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';

/** Bytes per junk post the database may grow by (the row as stored, all tables together). */
const BOUND = 1024;

describe.skipIf(dbUnavailable())('junk posts are stored compactly', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Everything the database holds, as text (every row of every table). */
  async function dump(): Promise<string> {
    const k = t.instance.db.kysely;
    const tables = (await k.introspection.getTables()).map((x) => x.name).filter((n) => !n.startsWith('kysely_'));
    const parts: string[] = [];
    for (const name of tables.sort()) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(k);
      parts.push(`${name}:${JSON.stringify(rows.rows)}`);
    }
    return parts.join('\n');
  }
  const bytes = async () => Buffer.byteLength(await dump());

  const ip = fc.oneof(fc.ipV4(), fc.ipV6());
  const junkToken = fc.oneof(fc.string({ minLength: 1, maxLength: 600 }), fc.base64String({ minLength: 4, maxLength: 200 }).map((s) => `${s}.${s}`), fc.stringMatching(/^[A-Za-z0-9_-]{20,80}\.[A-Za-z0-9_-]{43}$/));
  const text = (max: number) => fc.string({ maxLength: max, unit: 'grapheme' });
  const junkPost = fc.record({
    ip,
    token: junkToken,
    name: text(60),
    message: fc.oneof(text(200), fc.string({ minLength: 1000, maxLength: 4900 })),
    userAgent: fc.string({ maxLength: 400 }),
    honeypot: fc.constantFrom('empty', 'filled', 'absent'),
    altcha: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
  });

  it('N junk posts from many addresses grow the database by at most a small bound each and store none of their values', async () => {
    let stored = 0;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(junkPost, { minLength: 1, maxLength: 15 }), async (posts) => {
        run++;
        const before = await bytes();
        const countBefore = Number((await t.instance.db.kysely.selectFrom('submissions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
        const markers: string[] = [];
        for (const [i, p] of posts.entries()) {
          // A marker in every value, so that any copy of it in the database is found.
          const m = (k: string) => {
            const marker = `QZ${k}${run}x${i}W`;
            markers.push(marker);
            return marker;
          };
          const honeypot = p.honeypot === 'absent' ? {} : { website: p.honeypot === 'filled' ? `${m('H')}https://spam.example` : '' };
          const body = {
            name: `${m('N')}${p.name}`.slice(0, 60),
            email: `${m('E').toLowerCase()}@victim.example`,
            message: `${m('M')}${p.message}`,
            _token: p.token,
            ...honeypot,
            ...(p.altcha === undefined ? {} : { altcha: `${m('A')}${p.altcha}` }),
          };
          const res = await t.instance.app.inject({
            method: 'POST',
            url: '/api/forms/contact/submissions',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': p.ip, 'user-agent': `${m('U')}${p.userAgent}` },
            payload: JSON.stringify(body),
          });
          // Answered like an accepted post (silentReject), or refused outright (a ban): never an error.
          expect([201, 400, 403]).toContain(res.statusCode);
        }
        const after = await dump();
        for (const marker of markers) expect(after.includes(marker), `value ${marker} was stored`).toBe(false);
        const grown = Buffer.byteLength(after) - before;
        expect(grown).toBeLessThanOrEqual(BOUND * posts.length);
        const countAfter = Number((await t.instance.db.kysely.selectFrom('submissions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
        stored += countAfter - countBefore;
      }),
      { numRuns: 40 },
    );
    // The posts were recorded (compactly), not dropped: the property is about what a record holds.
    expect(stored).toBeGreaterThan(40);
  }, 300_000);

  it('a refused post keeps its form, time, client address, reason, symbols and size, and nothing of what the visitor typed', async () => {
    const res = await t.instance.app.inject({
      method: 'POST',
      url: '/api/forms/contact/submissions',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.77', 'user-agent': 'SecretAgent/1.0' },
      payload: JSON.stringify({ name: 'Secret Name', email: 'secret@victim.example', message: 'secret message with https://spam.example', _token: 'junk.token', website: '' }),
    });
    expect(res.statusCode).toBe(201);
    const { id } = res.json() as { id: string };
    const row = await t.instance.db.kysely.selectFrom('submissions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ form_id: 'contact', ip: '203.0.113.77', action: 'reject', fields: '{}', user_agent: '', content_hash: '', autoreply_to: null, notify: 'none' });
    expect((row as Record<string, unknown>).refused).toBe('TOKEN_INVALID');
    expect((row as Record<string, unknown>).bytes).toBeGreaterThan(100);
    const verdict = JSON.parse(row.verdict) as { action: string; symbols: { symbol: string }[] };
    expect(verdict.action).toBe('reject');
    expect(verdict.symbols.map((s) => s.symbol)).toContain('TOKEN_INVALID');
    expect(JSON.stringify(row)).not.toMatch(/secret/i);
  });
});
