// Issue #12, item 5: at info level the log says what happened, one JSON line (pino) each: every stored
// submission (id, receipt, form, action, score, symbols), every refusal (code, address), every invalid post,
// each SMTP failure with its retry, breaker changes, and a CORS mismatch with the origin seen and the fix.
// Never a field value: the visitor's name, address and message appear in no line.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitLikeAPerson } from '../client/protocol.js';
import { dbUnavailable } from '../../test/support/db.js';
import { BASE_FORM, startTestInstance, TEST_DEFENSES, type TestInstance } from '../../test/support/instance.js';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { waitFor } from '../../test/support/wait.js';

type Line = Record<string, unknown> & { level: number; msg: string };

describe.skipIf(dbUnavailable())('info-level log lines', () => {
  let t: TestInstance;
  let sink: SmtpSink;
  const raw: string[] = [];
  const lines = () => raw.map((l) => JSON.parse(l) as Line);
  const find = (msg: string | RegExp) => lines().filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  const SECRET = { name: 'Secretname Yamada', email: 'secret.visitor@example.jp', message: 'My secret message text 1234' };

  beforeAll(async () => {
    sink = new SmtpSink();
    const port = await sink.start();
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) raw.push(l);
        cb();
      },
    });
    t = await startTestInstance({
      startWorker: false,
      smtp: `smtp://127.0.0.1:${port}`,
      logger: { level: 'info', stream },
      forms: `${BASE_FORM}    cors: { origins: ["http://127.0.0.1:8080"] }\n`,
      defenses: `${TEST_DEFENSES}  ipLists: { block: [203.0.113.0/24] }\n`,
    });
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('a stored submission: one line with id, receipt, form, action, score and symbols, and no field value anywhere', async () => {
    const res = await submitLikeAPerson(t.url, 'contact', SECRET);
    expect(res.status).toBe(201);
    const { id, receipt } = (await res.json()) as { id: string; receipt: string };
    const stored = find('submission stored');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ level: 30, submission: id, receipt, form: 'contact', action: 'accept', score: expect.any(Number), symbols: expect.any(Array), autoreply: 'queued' });
    // A token-less post: NO_PROOF in the symbols.
    const plain = await fetch(`${t.url}/f/contact`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...SECRET, message: 'Another secret message text 5678' }).toString(), redirect: 'manual' });
    expect(plain.status).toBe(303);
    expect(find('submission stored')[1]).toMatchObject({ action: 'accept_no_autoreply', symbols: expect.arrayContaining(['NO_PROOF']), autoreply: 'skipped:no_proof' });
  });

  it('refusals (code and address) and invalid posts (field names only) are logged', async () => {
    const blocked = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' }, body: JSON.stringify(SECRET) });
    expect(blocked.status).toBe(403);
    expect(find('submission refused')).toEqual([expect.objectContaining({ level: 30, code: 'E_IP_BLOCKED', address: '203.0.113.9', form: 'contact', status: 403 })]);
    const invalid = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...SECRET, email: 'not an address' }) });
    expect(invalid.status).toBe(400);
    expect(find('submission invalid')).toEqual([expect.objectContaining({ form: 'contact', fields: ['email'] })]);
  });

  it('a CORS mismatch (localhost vs 127.0.0.1) is logged once with the origin seen, the listed ones and the fix', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${t.url}/api/forms/contact/challenge`, { headers: { origin: 'http://localhost:8080' } });
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
    }
    await fetch(`${t.url}/api/forms/contact/challenge`, { headers: { origin: 'http://127.0.0.1:8080' } });
    const cors = find(/^cors: /);
    expect(cors).toHaveLength(1);
    expect(cors[0]).toMatchObject({ level: 40, form: 'contact', origin: 'http://localhost:8080', allowed: ['http://127.0.0.1:8080'] });
    expect(cors[0]!.msg).toContain('Fix: add "http://localhost:8080" to forms[contact].cors.origins');
  });

  it('an SMTP failure is logged with its retry; the breaker closing is logged', async () => {
    sink.mode = 'tempfail';
    await t.instance.worker.drain();
    const retry = await waitFor(() => find('outbox: send failed; will retry')[0], 'the retry line');
    expect(retry).toMatchObject({ level: 40, attempts: 1, retryInSeconds: 1, error: expect.stringMatching(/4\d\d/) });
    sink.mode = 'accept';

    const k = t.instance.db.kysely;
    await k.insertInto('breakers').values({ scope: 'form:contact', state: 'open', reason: 'test', tripped_at: 0, retry_at: 0, updated_at: 0 }).execute();
    await t.instance.monitor.refresh();
    await t.instance.monitor.reset('form:contact');
    expect(find('circuit breaker closed')).toEqual([expect.objectContaining({ scope: 'form:contact', from: 'open', to: 'closed' })]);
  });

  it('no line carries a field value', () => {
    const all = raw.join('\n');
    expect(raw.length).toBeGreaterThan(5);
    for (const v of [SECRET.name, 'Secretname', SECRET.email, 'secret.visitor', SECRET.message, 'secret message', 'Another secret']) expect(all).not.toContain(v);
  });
});
