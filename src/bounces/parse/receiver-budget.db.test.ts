// Class 4 of issue #10, end to end on a real instance with its VERP bounce receiver: (1) while 30 adversarial
// 1 MiB messages arrive over SMTP, the same process keeps answering /healthz (the parser runs in a worker
// thread); (2) a message beyond the parse budget (MIME parts, lines) is reported unparseable and counts
// nothing, while the same DSN within the budget counts. No durations are asserted: on 183fc51 the first
// message alone blocked the event loop for minutes, so (1) did not finish, and (2) counted the flooded DSN.
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../../test/support/db.js';
import { BASE_FORM, OPEN_DEFENSES, startTestInstance, type TestInstance } from '../../../test/support/instance.js';
import { rfc3464Dsn } from '../../../test/support/remote-mta.js';
import { newId } from '../../util/id.js';

/** One message over plain SMTP. `sent` is called once the whole message (and its final dot) is written. */
function smtpSend(port: number, rcpt: string, raw: string, sent: () => void = () => {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const steps = ['EHLO test.example', 'MAIL FROM:<>', `RCPT TO:<${rcpt}>`, 'DATA', null, 'QUIT'];
    let buf = '';
    let step = -1;
    let final = '';
    sock.setEncoding('latin1');
    sock.on('error', reject);
    sock.on('close', () => resolve(final));
    sock.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\r\n'); nl !== -1; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (/^\d{3}-/.test(line)) continue; // multi-line reply
        if (step === 4) final = line;
        if (step >= 0 && step < 4 && !/^[23]/.test(line)) { final = line; sock.end('QUIT\r\n'); return; }
        step++;
        const cmd = steps[step];
        if (cmd === null) {
          const body = raw.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
          sock.write(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1', () => sent());
        } else if (cmd !== undefined) sock.write(`${cmd}\r\n`);
      }
    });
  });
}

const HEAD = 'From: MAILER-DAEMON@mx.dest.example\r\nTo: bounce@bounce.example.jp\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n';
const DIAG = '<gone@dest.example>: host mx.dest.example[192.0.2.25] said: 550 5.1.1 User unknown';
const MESSAGE_BYTES = 1000 * 1024;

/**
 * The attack families of the parser's property test, at about 1 MiB: a run of up to 240 KB that ends inside
 * what the parser reads of a part or a header block (256 KB), repeated to fill the message.
 */
const adversarial = fc.tuple(
  fc.constantFrom('whitespace', 'qp', 'long-line', 'header', 'fields'),
  fc.constantFrom(' ', '\t', '\u00a0', 'a@', '<', '('),
  fc.integer({ min: 64 * 1024, max: 240 * 1024 }),
).map(([family, unit, run]) => {
  const n = (bytes: number, u: string) => u.repeat(Math.floor(bytes / Buffer.byteLength(u)));
  const fillTo = (line: string) => line.repeat(Math.max(1, Math.floor(MESSAGE_BYTES / line.length)));
  switch (family) {
    case 'qp': return `${HEAD}Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${fillTo(`${DIAG}=\r\n${n(run, `${' '.repeat(73)}=\r\n`)}x\r\n`)}`;
    case 'header': return `${HEAD}Reply-To: <${n(run, unit)}\r\nContent-Type: multipart/report;${n(run, ' ')}!\r\n\r\n${fillTo(`${DIAG}\r\n`)}`;
    case 'fields': return `${HEAD}Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n${n(MESSAGE_BYTES, 'Status: 5.1.1\r\nFinal-Recipient: rfc822; u@dest.example\r\n')}--b--\r\n`;
    default: return `${HEAD}Content-Type: text/plain\r\n\r\n${fillTo(`${DIAG}${n(run, family === 'whitespace' ? ' ' : unit)}x\r\n`)}`;
  }
});

describe.skipIf(dbUnavailable())('the VERP receiver under adversarial bounces', () => {
  let t: TestInstance;
  let port = 0;
  beforeAll(async () => {
    t = await startTestInstance({
      startWorker: false,
      defenses: OPEN_DEFENSES,
      forms: BASE_FORM,
      extra: 'bounces:\n  verp: { domain: bounce.example.jp }\n  smtp: { port: 0, maxBytes: 2000000, perClientPerMinute: 1000 }\n',
    });
    port = t.instance.bounceReceiver!.port;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('keeps answering /healthz while 30 adversarial 1 MiB messages arrive and are parsed', async () => {
    const messages = fc.sample(adversarial, { numRuns: 30, seed: 4 });
    let inFlight = 0; // messages fully written whose reply has not come back: the server is reading or parsing them
    let answered = 0;
    let answeredDuringParsing = 0;
    let finished = 0;
    let stop = false;
    const probe = (async () => {
      while (!stop) {
        const during = inFlight > 0;
        const res = await fetch(`${t.url}/healthz`);
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        answered++;
        // Asked while a message was being parsed, and answered while one still was.
        if (during && inFlight > 0 && finished < messages.length) answeredDuringParsing++;
      }
    })();
    const replies = await Promise.all(
      messages.map((raw) =>
        smtpSend(port, t.instance.verp!.address(newId('m'))!, raw, () => inFlight++).then((reply) => {
          inFlight--;
          finished++;
          return reply;
        }),
      ),
    );
    stop = true;
    await probe;
    // Every message got its answer (accepted and reported unparseable or not a bounce; none counts: no such mail).
    expect(replies.every((r) => /^250 /.test(r)), replies.join('\n')).toBe(true);
    expect(answered).toBeGreaterThan(0);
    expect(answeredDuringParsing).toBeGreaterThan(0);
  }, 240_000);

  async function sentAutoreply(email: string): Promise<{ id: string; to: string }> {
    const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'N', email, message: 'hello', _token: t.instance.defenses.tokens.issueToken('contact', new Date()), website: '' }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await t.instance.worker.drain();
    const row = await t.instance.db.kysely.selectFrom('outbox').select(['id', 'to_addr']).where('submission_id', '=', id).where('kind', '=', 'autoreply').executeTakeFirstOrThrow();
    return { id: row.id, to: row.to_addr };
  }

  const signals = (outbox: string) =>
    t.instance.db.kysely.selectFrom('events').select(['kind', 'detail']).where('kind', 'in', ['bounce', 'complaint']).where('detail', 'like', `%"outbox":"${outbox}"%`).execute();

  it('a DSN beyond the parse budget (too many MIME parts, too many lines) counts nothing; within it, the same DSN counts', async () => {
    const reply = await sentAutoreply('gone@nowhere.example');
    const to = t.instance.verp!.address(reply.id)!;
    const dsn = rfc3464Dsn({ rcpt: reply.to, envelopeFrom: to, n: 1 });
    const close = '--DSN.b0und4ry--';
    const overBudget = fc.oneof(
      // More MIME parts than the budget (200): each extra part is a short text part after the report.
      fc.integer({ min: 201, max: 2000 }).map((n) => dsn.replace(close, `${'--DSN.b0und4ry\r\nContent-Type: text/plain\r\n\r\nsee above\r\n'.repeat(n)}${close}`)),
      // More lines than the budget (200,000), after the report.
      fc.integer({ min: 200_001, max: 300_000 }).map((n) => `${dsn}${'\r\n'.repeat(n)}`),
    );
    for (const raw of fc.sample(overBudget, { numRuns: 4, seed: 10 })) {
      expect(await smtpSend(port, to, raw)).toMatch(/^250 /);
    }
    expect(await signals(reply.id)).toEqual([]);
    expect(await t.instance.db.kysely.selectFrom('suppressions').select('address').execute()).toEqual([]);
    // The control: the same report within the budget is a signal for that mail.
    expect(await smtpSend(port, to, dsn)).toMatch(/^250 /);
    expect((await signals(reply.id)).map((e) => e.kind)).toEqual(['bounce']);
  }, 240_000);
});
