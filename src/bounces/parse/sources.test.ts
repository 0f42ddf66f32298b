import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readMaildir, readMbox, readMessages, splitMbox } from './sources.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fw-bounces-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const msg = (n: number, pad = 0) => `From MAILER-DAEMON Mon Mar  3 10:00:00 2025\nFrom: MAILER-DAEMON@x.example\nSubject: m${n}\n\nbody ${n}\n${'x'.repeat(pad)}\n`;
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> { const out: T[] = []; for await (const x of it) out.push(x); return out; }

describe('sources', () => {
  it('splitMbox splits on From_ lines', () => {
    const parts = [...splitMbox(msg(1) + '\n' + msg(2) + '\n' + msg(3))];
    expect(parts).toHaveLength(3);
    expect(parts[1]!.toString()).toContain('Subject: m2');
  });

  it('readMbox streams messages across chunk boundaries and bounds each message', async () => {
    const file = path.join(tmp, 'box.mbox');
    // 2.5 MB messages straddle the 1 MB read chunks.
    writeFileSync(file, msg(1, 2_500_000) + '\n' + msg(2, 10) + '\n' + msg(3, 2_500_000));
    const got = await collect(readMbox(file));
    expect(got.map((m) => m.index)).toEqual([0, 1, 2]);
    expect(got[1]!.raw.toString()).toContain('body 2');
    expect(got[2]!.raw.toString()).toContain('Subject: m3');
    const bounded = await collect(readMbox(file, { maxBytes: 1000 }));
    expect(bounded).toHaveLength(3);
    expect(bounded.every((m) => m.raw.length <= 1000)).toBe(true);
  });

  it('readMaildir reads cur/ and new/', async () => {
    const md = path.join(tmp, 'Maildir');
    for (const d of ['cur', 'new', 'tmp']) mkdirSync(path.join(md, d), { recursive: true });
    writeFileSync(path.join(md, 'cur', '1.host:2,S'), 'Subject: a\n\nx\n');
    writeFileSync(path.join(md, 'new', '2.host'), 'Subject: b\n\ny\n');
    writeFileSync(path.join(md, 'tmp', '3.host'), 'Subject: c\n\nz\n');
    const got = await collect(readMaildir(md));
    expect(got.map((m) => m.raw.toString().split('\n')[0])).toEqual(['Subject: a', 'Subject: b']);
  });

  it('readMessages detects mbox, eml and Maildir', async () => {
    const eml = path.join(tmp, 'one.eml');
    writeFileSync(eml, 'Subject: single\n\nbody\n');
    const mbox = path.join(tmp, 'two.mbox');
    writeFileSync(mbox, msg(1) + '\n' + msg(2));
    const got = await collect(readMessages([eml, mbox, path.join(tmp, 'Maildir')]));
    expect(got.map((m) => path.basename(m.file))).toEqual(['one.eml', 'two.mbox', 'two.mbox', '1.host:2,S', '2.host']);
  });
});

describe('readMbox reads a file as splitMbox splits it in memory', () => {
  const CHUNK = 256 * 1024; // sources.ts's read size: separators are placed across its boundaries
  const file = path.join(tmp, 'prop.mbox');
  const body = fc.array(fc.constantFrom('a', 'b', ' ', '\n', '\r', 'F', 'r', 'o', 'm', '>', 'From ', '\nFrom '), { maxLength: 40 }).map((a) => a.join(''));

  it('whatever the messages and wherever a separator falls against the read chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -12, max: 12 }), fc.array(body, { minLength: 1, maxLength: 6 }), fc.boolean(), async (shift, bodies, leadingFrom) => {
        // A first message that ends `shift` bytes around the chunk boundary, then the generated ones.
        const head = `${leadingFrom ? 'From a@b Mon Mar  3 10:00:00 2025\n' : ''}Subject: pad\n\n`;
        const pad = 'x'.repeat(Math.max(0, CHUNK + shift - head.length - 1));
        const text = `${head}${pad}\n${bodies.map((b) => `From MAILER-DAEMON Mon Mar  3 10:00:00 2025\n${b}`).join('\n')}`;
        writeFileSync(file, text, 'latin1');
        const want = [...splitMbox(Buffer.from(text, 'latin1'))].map((b) => b.toString('latin1'));
        const got = (await collect(readMbox(file))).map((m) => m.raw.toString('latin1'));
        expect(got).toEqual(want);
        const bounded = await collect(readMbox(file, { maxBytes: 100 }));
        expect(bounded.map((m) => m.raw.toString('latin1'))).toEqual(want.map((w) => w.slice(0, 100)));
        expect(bounded.map((m) => m.index)).toEqual([...want.keys()]);
      }),
      { numRuns: 150 },
    );
  });

  it('messages spanning several chunks, and an unreadable or vanished entry in a Maildir', async () => {
    const big = Buffer.alloc(3 * CHUNK + 17, 'y').toString('latin1');
    const text = `From a@b Mon Mar  3 10:00:00 2025\nSubject: 1\n\n${big}\nFrom c@d Mon Mar  3 10:00:01 2025\nSubject: 2\n\n${big}\n`;
    writeFileSync(file, text, 'latin1');
    const got = await collect(readMbox(file));
    expect(got.map((m) => m.raw.toString('latin1'))).toEqual([...splitMbox(Buffer.from(text, 'latin1'))].map((b) => b.toString('latin1')));
    const md = path.join(tmp, 'odd');
    mkdirSync(path.join(md, 'sub'), { recursive: true });
    writeFileSync(path.join(md, 'a'), 'Subject: a\n\nx\n');
    writeFileSync(path.join(md, 'b'), 'Subject: b\n\nx\n');
    expect((await collect(readMaildir(md))).map((m) => path.basename(m.file))).toEqual(['a', 'b']); // the folder is left out
    if (process.getuid?.() !== 0) {
      chmodSync(path.join(md, 'b'), 0);
      await expect(collect(readMaildir(md))).rejects.toThrow(/EACCES/);
    }
  });
});
