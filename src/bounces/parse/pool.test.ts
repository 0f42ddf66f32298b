// The parser's worker pool: a worker parses exactly what the in-process parser does, a message over the time
// budget is unparseable and its worker replaced, a message over the size/line/part/depth budget is refused, and
// the worker file is found both from the TypeScript sources (this run) and from the built dist/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../test/support/process.js';
import { parseBounce } from './index.js';
import { ParsePool, ParsePoolFull } from './pool.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.eml')).map((f) => readFileSync(path.join(dir, f)));

describe('the parser worker pool', () => {
  const pool = new ParsePool({ timeMs: 60_000 });
  afterAll(() => pool.close());

  it('gives the same result as the in-process parser', async () => {
    const got = await Promise.all(fixtures.map((raw) => pool.parse(raw)));
    expect(got).toEqual(fixtures.map((raw) => parseBounce(raw)));
    expect(pool.stats.parsed).toBe(fixtures.length);
  });

  it('a message over the byte, line, part or depth budget is reported unparseable, with nothing read from it', async () => {
    const dsn = fixtures[0]!;
    const bytes = await pool.parse(dsn, { maxBytes: 100 });
    expect(bytes).toMatchObject({ kind: 'unparseable', bounces: [], original: null, overBudget: 'bytes' });
    const lines = await pool.parse(Buffer.concat([dsn, Buffer.from('x\n'.repeat(300))]), { maxLines: 200 });
    expect(lines).toMatchObject({ kind: 'unparseable', bounces: [], overBudget: 'lines' });
    const parts = `From: MAILER-DAEMON@mx.example\nSubject: Undelivered\nContent-Type: multipart/mixed; boundary=b\n\n${'--b\nContent-Type: text/plain\n\n<u@dest.example>: 550 5.1.1 user unknown\n'.repeat(5)}--b--\n`;
    expect(await pool.parse(Buffer.from(parts), { maxParts: 4 })).toMatchObject({ kind: 'unparseable', bounces: [], overBudget: 'parts' });
    expect((await pool.parse(Buffer.from(parts), { maxParts: 6 })).bounces.map((b) => b.recipient)).toEqual(['u@dest.example']);
    let nested = 'Content-Type: text/plain\n\n<n@dest.example>: 550 5.1.1 user unknown\n';
    for (let i = 0; i < 5; i++) nested = `Content-Type: multipart/mixed; boundary="M${i}"\n\n--M${i}\n${nested}\n--M${i}--\n`;
    const deep = Buffer.from(`From: MAILER-DAEMON@mx.example\nSubject: Undelivered\n${nested}`);
    expect(await pool.parse(deep, { maxDepth: 4 })).toMatchObject({ kind: 'unparseable', bounces: [], overBudget: 'depth' });
    expect((await pool.parse(deep, { maxDepth: 5 })).bounces.map((b) => b.recipient)).toEqual(['n@dest.example']);
  });

  it('a message that exceeds the time budget is unparseable; its worker is replaced and the next message parses', async () => {
    const started = pool.stats.started;
    // Reading 8 MiB takes far longer than 1 ms in any worker.
    const big = Buffer.concat([fixtures[0]!, Buffer.alloc(8 * 1024 * 1024, 'The mail system kept a copy of this line.\n')]);
    const slow = await pool.parse(big, {}, 1);
    expect(slow).toMatchObject({ kind: 'unparseable', bounces: [], overBudget: 'time' });
    expect(slow.why).toMatch(/longer than 1 ms/);
    expect(pool.stats.timedOut).toBe(1);
    expect(pool.stats.started).toBe(started + 1);
    expect(await pool.parse(fixtures[0]!)).toEqual(parseBounce(fixtures[0]!));
  });

  it('refuses new work when too many messages wait (the receiver then answers "try again later")', async () => {
    const small = new ParsePool({ maxQueue: 2 });
    try {
      const accepted = [small.parse(fixtures[0]!), small.parse(fixtures[1]!)];
      await expect(small.parse(fixtures[2]!)).rejects.toBeInstanceOf(ParsePoolFull);
      expect((await Promise.all(accepted)).every((r) => r.kind !== 'unparseable')).toBe(true);
    } finally {
      await small.close();
    }
  });

  // `npm test` builds dist/ first; `npm start` runs it: the worker must resolve as worker.js there.
  const built = path.join(projectRoot, 'dist/bounces/parse/pool.js');
  it.skipIf(!existsSync(built))('starts its worker from the built dist/ as well', () => {
    const script = `
      const { ParsePool } = await import(${JSON.stringify(built)});
      const pool = new ParsePool();
      const r = await pool.parse(Buffer.from(process.env.DSN, 'base64'));
      await pool.close();
      process.stdout.write(JSON.stringify(r));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '--eval', script], { env: { ...process.env, DSN: fixtures[0]!.toString('base64') }, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(parseBounce(fixtures[0]!))));
  });
});
