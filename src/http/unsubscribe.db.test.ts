// Issue #10, class 5: the "I didn't request this" link and RFC 8058 one-click work for every address a
// stranger can have (local parts up to 64 characters of any atext, domains up to 254 characters in all,
// IDN and punycode), the token reveals nothing of the address, and forged, edited, swapped and replayed
// tokens are refused with a 4xx and change nothing. A real auto-reply goes through the real intake,
// outbox and worker to a real SMTP server; one server serves every run.
import { createHmac } from 'node:crypto';
import { domainToASCII, domainToUnicode } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEmail } from '../forms/email.js';
import { enqueue, outboxRow } from '../mail/outbox.js';
import { isSuppressed } from '../relay/suppression.js';
import { dbUnavailable } from '../../test/support/db.js';
import { OPEN_DEFENSES, startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { SmtpSink, type ReceivedMail } from '../../test/support/smtp-sink.js';
import { ManualClock } from '../util/clock.js';

const PUBLIC = 'http://127.0.0.1:8787';
const ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-".split('');
const LDH = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'.split('');
const UNICODE = '日本語例えテストみんな中文한국üöéßçñøåæ'.split('');

// --- addresses -----------------------------------------------------------------------------------

/** A dot-atom local part of any atext, 1..64 characters (an encoded-word "=?" is refused by the form). */
const localPart = fc
  .array(fc.string({ unit: fc.constantFrom(...ATEXT), minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 4 })
  .map((atoms) => atoms.join('.').slice(0, 64).replace(/\.+$/, ''))
  .filter((l) => !l.includes('=?'));
const ldhLabel = fc
  .tuple(fc.constantFrom(...LDH.slice(0, -1)), fc.string({ unit: fc.constantFrom(...LDH), maxLength: 61 }), fc.constantFrom(...LDH.slice(0, -1)))
  .map(([a, m, b]) => `${a}${m}${b}`);
const unicodeLabel = fc.string({ unit: fc.constantFrom(...UNICODE), minLength: 1, maxLength: 12 });
/** A label as typed: plain, Unicode (IDN), or its punycode. */
const label = fc.oneof(
  { weight: 3, arbitrary: ldhLabel },
  { weight: 1, arbitrary: unicodeLabel },
  { weight: 1, arbitrary: unicodeLabel.map((l) => domainToASCII(`${l}.jp`).slice(0, -3)) },
);
const tld = fc.constantFrom('jp', 'com', 'example', 'museum', 'みんな', 'xn--q9jyb4c', 'コム', 'co.jp', 'ORG');

interface Addr {
  typed: string;
  /** The address as the form parses it (domain lower-cased, punycode). */
  canonical: string;
  /** The recipient of the auto-reply row (the intake may fold the address further). */
  sent?: string;
}

/** Local part + labels + a label unique to the run + TLD, cut to fit 254 characters in all. */
function fit(local: string, labels: string[], top: string, unique: string): Addr | null {
  const budget = 254 - local.length - 1;
  const tail = `${unique}.${top}`;
  let used = domainToASCII(tail).length;
  const kept: string[] = [];
  for (const l of labels) {
    const ascii = domainToASCII(`${l}.jp`).slice(0, -3).length;
    if (used + 1 + ascii <= Math.min(budget, 253)) {
      kept.push(l);
      used += 1 + ascii;
    } else if (/^[A-Za-z0-9-]+$/.test(l)) {
      const cut = l.slice(0, Math.min(budget, 253) - used - 1).replace(/-+$/, '');
      if (cut) {
        kept.push(cut);
        used += 1 + cut.length;
      }
    }
  }
  const typed = `${local}@${[...kept, tail].join('.')}`;
  const canonical = parseEmail(typed);
  return canonical && canonical.length <= 254 ? { typed, canonical } : null;
}

// --- tokens --------------------------------------------------------------------------------------

const TOKEN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/%~'.split('');
/** An attacker's edit of a token they hold. */
const edit = fc.oneof(
  fc.tuple(fc.constant('set' as const), fc.nat(), fc.constantFrom(...TOKEN_CHARS)),
  fc.tuple(fc.constant('cut' as const), fc.nat(), fc.constant('')),
  fc.tuple(fc.constant('drop' as const), fc.nat(), fc.constant('')),
  fc.tuple(fc.constant('add' as const), fc.nat(), fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 3 })),
  fc.tuple(fc.constant('case' as const), fc.nat(), fc.constant('')),
  fc.tuple(fc.constant('swap' as const), fc.nat(), fc.constant('')),
  fc.tuple(fc.constant('legacy' as const), fc.nat(), fc.string({ unit: fc.constantFrom(...TOKEN_CHARS.slice(0, 64)), minLength: 32, maxLength: 32 })),
);
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function mutate(token: string, [op, at, s]: Edit, others: string[], address: string): string {
  const i = at % (token.length + 1);
  const j = at % token.length;
  switch (op) {
    case 'set':
      return token.slice(0, j) + s + token.slice(j + 1);
    case 'cut':
      return token.slice(0, j);
    case 'drop':
      return token.slice(0, j) + token.slice(j + 1);
    case 'add':
      return token.slice(0, i) + s + token.slice(i);
    case 'case': {
      const c = token[j]!;
      return token.slice(0, j) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + token.slice(j + 1);
    }
    case 'swap': {
      // This mail's id with another mail's MAC, or the other way round.
      const other = others[at % Math.max(1, others.length)];
      if (!other) return `${token}.`;
      const [a, b] = [token.split('.'), other.split('.')];
      return at % 2 ? `${a[0]}.${b[1]}` : `${b[0]}.${a[1]}`;
    }
    case 'legacy': {
      // The long format, naming this mail and its address, with a guessed MAC.
      const id = token.split('.')[0]!;
      return `${Buffer.from(JSON.stringify([id, address])).toString('base64url')}.${s}`;
    }
  }
}

/** A token as commit 183fc51 mailed it. */
function legacyToken(key: string, id: string, addr: string): string {
  const body = Buffer.from(JSON.stringify([id, addr]), 'utf8').toString('base64url');
  return `${body}.${createHmac('sha256', key).update(`unsub.${body}`).digest('base64url').slice(0, 32)}`;
}

/** Nothing of the address in the token: plain, lower-cased, Unicode or punycode domain, base64/base64url, or inside a decodable part. */
function expectOpaque(token: string, addr: Addr): void {
  const pieces: string[] = [];
  for (const a of [addr.typed, addr.canonical, addr.sent ?? addr.canonical]) {
    const at = a.lastIndexOf('@');
    pieces.push(a, a.slice(0, at), a.slice(at + 1), domainToUnicode(a.slice(at + 1)));
  }
  const secrets = new Set<string>();
  for (const p of pieces) {
    for (const s of [p, p.toLowerCase(), Buffer.from(p).toString('base64').replace(/=+$/, ''), Buffer.from(p).toString('base64url')]) if (s.length >= 5) secrets.add(s);
  }
  for (const s of secrets) {
    expect(token.includes(s), `token ${token} contains ${s}`).toBe(false);
    expect(token.toLowerCase().includes(s.toLowerCase()), `token ${token} contains ${s} (any case)`).toBe(false);
  }
  for (const part of token.split('.')) {
    const decoded = Buffer.from(part, 'base64url').toString('latin1').toLowerCase();
    for (const p of pieces) if (p.length >= 3) expect(decoded.includes(p.toLowerCase()), `token part ${part} decodes to text with ${p}`).toBe(false);
  }
}

const unfoldedHead = (m: ReceivedMail) => m.raw.toString('latin1').split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');

describe.skipIf(dbUnavailable())('"I didn\'t request this" and one-click, for every address', () => {
  const sink = new SmtpSink();
  const clock = new ManualClock(Date.UTC(2026, 10, 4, 0, 0, 0));
  let t: TestInstance;
  let base = '';
  beforeAll(async () => {
    const port = await sink.start();
    t = await startTestInstance({ smtp: `smtp://127.0.0.1:${port}`, clock, startWorker: false, defenses: OPEN_DEFENSES });
    base = t.url;
  });
  afterAll(async () => {
    await t?.close();
    await sink.stop();
  });

  const k = () => t.instance.db.kysely;
  const counts = async () => ({
    suppressions: (await k().selectFrom('suppressions').select('address').execute()).length,
    uses: (await k().selectFrom('link_uses').select('id').execute()).length,
    signals: (await k().selectFrom('events').select('id').where('kind', '=', 'abuse_link').execute()).length,
  });

  let run = 0;
  /** Posts the address through the form API; the auto-reply goes out through the outbox to the sink. */
  async function autoreplyTo(addr: Addr): Promise<ReceivedMail> {
    clock.advance(25 * 3_600_000);
    sink.received.length = 0;
    const token = t.instance.defenses.tokens.issueToken('contact', clock.now());
    const res = await fetch(`${base}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${run % 250}` },
      body: JSON.stringify({ name: `Visitor ${run}`, email: addr.typed, message: `Question number ${run} about the product.`, _token: token, website: '' }),
    });
    const body = (await res.json()) as { id?: string };
    const sub = body.id ? await k().selectFrom('submissions').select('autoreply').where('id', '=', body.id).executeTakeFirst() : undefined;
    if (sub?.autoreply !== 'queued') {
      // The intake may withhold auto-replies to some addresses (a policy of its own): the link must still
      // work for any address an auto-reply row can hold, so that mail is queued by hand.
      await enqueue(k(), [
        outboxRow({ kind: 'autoreply', submissionId: body.id ?? null, formId: 'contact', to: addr.canonical, replyTo: null, subject: 'Thank you', body: 'Receipt' }, 'info@example.jp', clock.now().getTime()),
      ]);
    }
    await t.instance.worker.drain();
    const mails = sink.received.filter((m) => m.parsed.headers.get('x-formwarden-kind') === 'autoreply');
    expect(mails, `one auto-reply to ${addr.canonical}`).toHaveLength(1);
    const row = await k().selectFrom('outbox').select('to_addr').where('kind', '=', 'autoreply').where('state', '=', 'sent').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    // smtp-server shows IDN domains in Unicode: compare canonical forms.
    expect(mails[0]!.envelopeTo.map((a) => parseEmail(a))).toEqual([parseEmail(row.to_addr)]);
    addr.sent = row.to_addr;
    return mails[0]!;
  }

  /** The link of the footer and of List-Unsubscribe (the same), and the token. */
  function linkOf(mail: ReceivedMail): { path: string; token: string } {
    const head = unfoldedHead(mail);
    expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    const header = /^List-Unsubscribe: <([^>]+)>$/m.exec(head)?.[1]?.replace(/\s+/g, '');
    const footer = new RegExp(`^${PUBLIC.replace(/[.]/g, '\\.')}(/u/\\S+)$`, 'm').exec(mail.parsed.text ?? '')?.[1];
    expect(footer, 'the footer carries the link').toBeTruthy();
    expect(header).toBe(`${PUBLIC}${footer}`);
    return { path: footer!, token: footer!.slice(3) };
  }

  const post = (path: string, how: 'one-click' | 'one-click-multipart' | 'button') => {
    if (how === 'button') return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    if (how === 'one-click') return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    return fetch(`${base}${path}`, { method: 'POST', body: form });
  };
  const how = fc.constantFrom('one-click' as const, 'one-click-multipart' as const, 'button' as const);

  const parts = fc.tuple(localPart, fc.array(label, { minLength: 0, maxLength: 5 }), tld);
  /** Each run gets a domain of its own, so that no run's suppression or caps touch another's. */
  const address = ([l, labels, top]: [string, string[], string]): Addr => {
    const a = fit(l, labels, top, `run${++run}x`);
    fc.pre(a !== null);
    return a;
  };

  it('short opaque token; GET shows the page, POST (button or one-click) suppresses once; every edit of the token is a 4xx that changes nothing', { timeout: 600_000 }, async () => {
    const used: string[] = [];
    await fc.assert(
      fc.asyncProperty(parts, how, how, fc.array(edit, { minLength: 3, maxLength: 5 }), async (generated, first, again, edits) => {
        const addr = address(generated);
        const mail = await autoreplyTo(addr);
        const { path, token } = linkOf(mail);
        // Short, whatever the address: under Fastify's default maxParamLength (100), and opaque.
        expect(token.length).toBeLessThan(100);
        expectOpaque(token, addr);

        const before = await counts();
        const page = await fetch(`${base}${path}`);
        expect(page.status).toBe(200);
        const html = await page.text();
        expect(html).toContain('<form method="post"');
        expect(html).toContain('心当たりがない場合');
        expect(html).toContain('An automatic reply to an inquiry made with this address');
        expect(await isSuppressed(k(), addr.sent!)).toBe(false);

        // Forged, edited, cut, swapped tokens: 4xx, nothing changes.
        const forgeries = edits.map((e) => mutate(token, e, used, addr.sent!)).filter((f) => f !== token);
        for (const forged of forgeries) {
          const p = `/u/${encodeURIComponent(forged)}`;
          const r1 = await post(p, 'one-click');
          expect(r1.status, `POST ${forged}`).toBeGreaterThanOrEqual(400);
          expect(r1.status, `POST ${forged}`).toBeLessThan(500);
          const r2 = await fetch(`${base}${p}`);
          expect(r2.status, `GET ${forged}`).toBeGreaterThanOrEqual(400);
          expect(r2.status, `GET ${forged}`).toBeLessThan(500);
        }
        expect(await counts()).toEqual(before);
        expect(await isSuppressed(k(), addr.sent!)).toBe(false);

        // The real thing acts once.
        const done = await post(path, first);
        expect(done.status).toBe(200);
        expect(await done.text()).toContain('今後このアドレスには自動返信を送りません');
        expect(await isSuppressed(k(), addr.sent!)).toBe(true);
        const after = await counts();
        expect(after).toEqual({ suppressions: before.suppressions + 1, uses: before.uses + 1, signals: before.signals + 1 });

        // A replay is refused (409, "already done") and changes nothing; the page no longer offers the button.
        const replay = await post(path, again);
        expect(replay.status).toBe(409);
        expect(await replay.text()).toContain('この手続きはすでに完了しています');
        const shown = await fetch(`${base}${path}`);
        expect(shown.status).toBe(200);
        expect(await shown.text()).not.toContain('<form');
        expect(await counts()).toEqual(after);
        used.push(token);
      }),
      { numRuns: 12 },
    );
  });

  it('tokens mailed in the long format (address inside) still work, whatever their length, and only for that mail', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(parts, async (generated) => {
        const addr = address(generated);
        const mail = await autoreplyTo(addr);
        const { token } = linkOf(mail);
        const id = token.split('.')[0]!;
        const row = await k().selectFrom('outbox').select('to_addr').where('id', '=', id).executeTakeFirstOrThrow();
        const long = legacyToken(t.instance.secrets.linkKey, id, row.to_addr);
        // Naming another address for this mail is refused, even signed.
        const other = legacyToken(t.instance.secrets.linkKey, id, `x${row.to_addr}`);
        expect((await post(`/u/${other}`, 'one-click')).status).toBe(404);
        expect((await fetch(`${base}/u/${long}`)).status).toBe(200);
        expect((await post(`/u/${long}`, 'one-click')).status).toBe(200);
        expect(await isSuppressed(k(), addr.sent!)).toBe(true);
        // Short and long name the same mail: one use in all.
        expect((await post(`/u/${token}`, 'button')).status).toBe(409);
      }),
      { numRuns: 4 },
    );
  });
});
