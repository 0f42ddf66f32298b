// Property tests (issue part 5 item 6.4): the bounce parser never throws, whatever bytes arrive,
// always answers with a bounces array whose reasons are in the vocabulary, and stays bounded in memory.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBounce, type BounceReason, type ParsedBounce } from './index.js';

const REASONS = {
  userunknown: true, mailboxfull: true, hostunknown: true, filtered: true, rejected: true, blocked: true, spamdetected: true,
  policyviolation: true, authfailure: true, badreputation: true, expired: true, suspend: true, systemerror: true, networkerror: true,
  mesgtoobig: true, exceedlimit: true, toomanyconn: true, speeding: true, securityerror: true, virusdetected: true, contenterror: true,
  hasmoved: true, mailererror: true, norelaying: true, notaccept: true, notcompliantrfc: true, onhold: true, requireptr: true,
  syntaxerror: true, systemfull: true, delivered: true, feedback: true, vacation: true, undefined: true,
} satisfies Record<BounceReason, true>;
const VOCABULARY = new Set(Object.keys(REASONS));
const KINDS = new Set(['dsn', 'arf', 'vacation', 'challenge', 'non-standard', 'not-a-bounce', 'unparseable']);

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .map((f) => readFileSync(path.join(dir, f)));

function checkResult(r: ParsedBounce): void {
  expect(KINDS.has(r.kind)).toBe(true);
  expect(Array.isArray(r.bounces)).toBe(true);
  for (const b of r.bounces) {
    expect(VOCABULARY.has(b.reason), `reason ${b.reason}`).toBe(true);
    expect(typeof b.recipient).toBe('string');
    expect(typeof b.hard).toBe('boolean');
    expect(b.diagnostic.length).toBeLessThanOrEqual(1000);
  }
  // parseBounce turns an exception into an "unparseable" result: no input should need that net.
  expect(r.why ?? '').not.toMatch(/^internal error/);
}

function parse(input: Buffer | string): ParsedBounce {
  let r: ParsedBounce;
  try {
    r = parseBounce(input);
  } catch (e) {
    throw new Error(`parseBounce threw: ${String(e)}`);
  }
  checkResult(r);
  return r;
}

type Mutation =
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'flip'; at: number; byte: number }
  | { op: 'delete'; at: number; len: number }
  | { op: 'duplicate'; at: number; len: number };

const MIME_BITS = ['\n', '\r\n', '\r', '--', '\n--', 'Content-Type: multipart/report; boundary="', 'Content-Type: message/delivery-status\n\n', 'Content-Type: message/rfc822\n\n', 'Content-Transfer-Encoding: base64\n', 'Content-Transfer-Encoding: quoted-printable\n', '=?utf-8?B?', '?=', '=\n', '=XX', ';', '"', 'charset=iso-2022-jp', '\x1b$B', 'Final-Recipient: rfc822;', 'Status: 5.', 'Action: failed\n', 'Diagnostic-Code: smtp; 550 ', '<', '>', '@', '\u0000', '\xff\xfe'];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...MIME_BITS), fc.string({ maxLength: 40, unit: 'binary' })) }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 2000 }) }),
);

function mutate(buf: Buffer, mutations: Mutation[]): Buffer {
  let b = buf;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.text, 'latin1'), b.subarray(at)]);
        break;
      case 'flip':
        if (at < b.length) {
          b = Buffer.from(b);
          b[at] = m.byte;
        }
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
        break;
    }
  }
  return b;
}

describe('parseBounce properties', () => {
  it('the fixtures parse cleanly (sanity check of the harness)', () => {
    expect(fixtures.length).toBeGreaterThan(3);
    for (const f of fixtures) parse(f);
  });

  it('arbitrary byte buffers and strings: never throws, a bounces array, reasons in the vocabulary', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 4000 }).map((a) => Buffer.from(a)),
          fc.string({ maxLength: 2000, unit: 'binary' }),
          // Header-looking prefix so the input gets past the "binary garbage" check.
          fc.tuple(fc.constantFrom('From: MAILER-DAEMON@mx.example\n', 'Subject: Undeliverable\n', 'Content-Type: multipart/report; boundary=b\n\n--b\n'), fc.uint8Array({ maxLength: 3000 })).map(([h, a]) => Buffer.concat([Buffer.from(h), Buffer.from(a)])),
        ),
        (input) => void parse(input),
      ),
      { numRuns: 300 },
    );
  });

  it('mutated real bounces (truncations, insertions, byte flips, deletions, duplications)', () => {
    fc.assert(
      fc.property(fc.nat(fixtures.length - 1), fc.array(mutation, { minLength: 1, maxLength: 8 }), fc.boolean(), (i, mutations, crlf) => {
        const base = crlf ? Buffer.from(fixtures[i]!.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1') : fixtures[i]!;
        parse(mutate(base, mutations));
      }),
      { numRuns: 300 },
    );
  });

  it('a DSN assembled from random field values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ recipient: fc.string({ maxLength: 60 }), status: fc.oneof(fc.constantFrom('5.1.1', '4.2.2', '5.7.1', '2.0.0', '9.9.9', ''), fc.string({ maxLength: 10 })), action: fc.constantFrom('failed', 'delayed', 'delivered', 'relayed', 'expanded', ''), diag: fc.string({ maxLength: 200 }) }), { maxLength: 5 }),
        fc.string({ maxLength: 100 }),
        (recs, text) => {
          const dsn = recs.map((r) => `Final-Recipient: rfc822; ${r.recipient}\nAction: ${r.action}\nStatus: ${r.status}\nDiagnostic-Code: smtp; ${r.diag}\n`).join('\n');
          const raw = `From: MAILER-DAEMON@mx.example\nTo: forms@sender.example\nSubject: Undelivered Mail\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n--B\nContent-Type: text/plain\n\n${text}\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n${dsn}\n--B--\n`;
          parse(raw);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('large random inputs (5 MB) complete with bounded heap growth', () => {
    let seed = 0x2545f491;
    const random = (n: number) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        b[i] = seed & 0xff;
      }
      return b;
    };
    const FIVE_MB = 5 * 1024 * 1024;
    const printable = Buffer.from(random(FIVE_MB).map((c) => (c % 11 === 0 ? 10 : 32 + (c % 95))));
    const inputs = [
      random(FIVE_MB),
      Buffer.concat([Buffer.from('From: MAILER-DAEMON@mx.example\nSubject: Undelivered Mail\nContent-Type: text/plain\n\n'), printable]),
      Buffer.concat([
        Buffer.from('From: MAILER-DAEMON@mx.example\nSubject: failure notice\nMIME-Version: 1.0\nContent-Type: multipart/report; boundary="R"\n\n--R\nContent-Type: text/plain\n\n<x@dest.example>: 550 5.1.1 user unknown\n--R\nContent-Type: message/delivery-status\n\n'),
        printable,
        Buffer.from('\n--R--\n'),
      ]),
      mutate(Buffer.concat([fixtures[0]!, printable, fixtures[0]!]), [{ op: 'flip', at: 200, byte: 0 }]),
    ];
    const before = process.memoryUsage().heapUsed;
    for (const input of inputs) parse(input);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 1024 * 1024);
  }, 60_000);
});
