// The link token: short and opaque whatever the address, bound to the mail and its recipient, and no
// edit of it (one character, cut, extended, another mail's id or MAC, another key) verifies.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newId } from '../util/id.js';
import { signLink, verifyLink } from './links.js';

const KEY = 'k'.repeat(40);
const ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-.".split('');
const address = fc
  .tuple(fc.string({ unit: fc.constantFrom(...ATEXT), minLength: 1, maxLength: 64 }), fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-.'), minLength: 1, maxLength: 189 }))
  .map(([l, d]) => `${l}@${d}`);
const outboxId = fc.integer({ min: 0, max: 2 ** 47 }).map((t) => newId('m', t));
const lookup = (rows: Record<string, string>) => async (id: string) => rows[id] ?? null;

/** A token as commit 183fc51 mailed it: base64url(JSON [id, address]) "." 32 characters of MAC. */
function legacyToken(key: string, id: string, addr: string): string {
  const body = Buffer.from(JSON.stringify([id, addr]), 'utf8').toString('base64url');
  return `${body}.${createHmac('sha256', key).update(`unsub.${body}`).digest('base64url').slice(0, 32)}`;
}

const TOKEN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/%~'.split('');
/** Edits an attacker can make to a token they hold. */
const mutation = fc.oneof(
  fc.tuple(fc.constant('set' as const), fc.nat(), fc.constantFrom(...TOKEN_CHARS)),
  fc.tuple(fc.constant('cut' as const), fc.nat(), fc.constant('')),
  fc.tuple(fc.constant('drop' as const), fc.nat(), fc.constant('')),
  fc.tuple(fc.constant('add' as const), fc.nat(), fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 4 })),
  fc.tuple(fc.constant('case' as const), fc.nat(), fc.constant('')),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;
function mutate(token: string, [op, at, s]: Mutation): string {
  if (token === '') return op === 'add' ? s : token;
  const i = at % (token.length + (op === 'add' ? 1 : 0));
  switch (op) {
    case 'set':
      return token.slice(0, i) + s + token.slice(i + 1);
    case 'cut':
      return token.slice(0, i);
    case 'drop':
      return token.slice(0, i) + token.slice(i + 1);
    case 'add':
      return token.slice(0, i) + s + token.slice(i);
    case 'case': {
      const c = token[i]!;
      return token.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + token.slice(i + 1);
    }
  }
}

describe('signLink / verifyLink', () => {
  it('a token is 47 characters, reveals nothing of the address and verifies against the stored recipient only', async () => {
    await fc.assert(
      fc.asyncProperty(outboxId, address, address, async (id, addr, other) => {
        const token = signLink(KEY, { outboxId: id, address: addr });
        expect(token).toMatch(/^m_[0-9a-z]{22}\.[A-Za-z0-9_-]{22}$/);
        expect(token.startsWith(`${id}.`)).toBe(true);
        expect(await verifyLink(KEY, token, lookup({ [id]: addr }))).toEqual({ outboxId: id, address: addr });
        // Another recipient, another key, no such mail: refused.
        if (other !== addr) expect(await verifyLink(KEY, token, lookup({ [id]: other }))).toBeNull();
        expect(await verifyLink('x'.repeat(40), token, lookup({ [id]: addr }))).toBeNull();
        expect(await verifyLink(KEY, token, lookup({}))).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it('no edit of a token verifies', async () => {
    await fc.assert(
      fc.asyncProperty(outboxId, address, fc.array(mutation, { minLength: 1, maxLength: 3 }), async (id, addr, edits) => {
        const token = signLink(KEY, { outboxId: id, address: addr });
        const forged = edits.reduce(mutate, token);
        fc.pre(forged !== token);
        // The lookup answers for any id, as if every mail existed and went to this address.
        expect(await verifyLink(KEY, forged, async () => addr)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('the MAC is compared as text: no other last character verifies (base64url decoding would ignore its spare bits)', async () => {
    await fc.assert(
      fc.asyncProperty(outboxId, address, async (id, addr) => {
        const token = signLink(KEY, { outboxId: id, address: addr });
        for (const c of TOKEN_CHARS.slice(0, 64)) {
          const other = token.slice(0, -1) + c;
          if (other !== token) expect(await verifyLink(KEY, other, async () => addr)).toBeNull();
        }
      }),
      { numRuns: 20 },
    );
  });

  it("one mail's id with another mail's MAC is refused", async () => {
    await fc.assert(
      fc.asyncProperty(outboxId, outboxId, address, async (a, b, addr) => {
        fc.pre(a !== b);
        const ta = signLink(KEY, { outboxId: a, address: addr });
        const tb = signLink(KEY, { outboxId: b, address: addr });
        const swapped = `${a}.${tb.split('.')[1]}`;
        expect(await verifyLink(KEY, swapped, lookup({ [a]: addr, [b]: addr }))).toBeNull();
        expect(await verifyLink(KEY, ta, lookup({ [a]: addr, [b]: addr }))).not.toBeNull();
      }),
    );
  });

  it('tokens mailed in the long format still verify, for the recipient of that mail only; edits of them do not', async () => {
    await fc.assert(
      fc.asyncProperty(outboxId, address, address, mutation, async (id, addr, other, edit) => {
        const token = legacyToken(KEY, id, addr);
        expect(await verifyLink(KEY, token, lookup({ [id]: addr }))).toEqual({ outboxId: id, address: addr });
        if (other !== addr) expect(await verifyLink(KEY, token, lookup({ [id]: other }))).toBeNull();
        expect(await verifyLink('x'.repeat(40), token, lookup({ [id]: addr }))).toBeNull();
        const forged = mutate(token, edit);
        if (forged !== token) expect(await verifyLink(KEY, forged, async () => addr)).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it('junk of any shape is refused without an exception', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 2000 }), fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), maxLength: 120 })), async (junk) => {
        expect(await verifyLink(KEY, junk, async () => 'a@example.jp')).toBeNull();
      }),
      { numRuns: 500 },
    );
  });
});
