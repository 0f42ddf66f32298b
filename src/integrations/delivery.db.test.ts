// Webhooks through the outbox, end to end: a visitor posts the form over HTTP, the submission's webhook
// rows are written with it, and the webhook lane of the outbox POSTs them to real local receivers
// (node:http). 2xx: sent; 5xx, 429, a refused connection or a timeout: retried on mail.retry, then dead;
// other 4xx and redirects: dead at once; `mail retry` queues them again. A slow receiver holds up no
// mail; a row left pending survives a restart. The clock is moved by hand.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { mailList, mailShow, outboxRetry } from '../cli/data.js';
import { submitLikeAPerson } from '../client/protocol.js';
import { getMail, listMail, retryMail } from '../mail/outbox.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { startTestInstance, testConfigYaml, type TestInstance } from '../../test/support/instance.js';
import { listenOnStablePort } from '../../test/support/ports.js';
import { waitFor } from '../../test/support/wait.js';
import { ManualClock } from '../util/clock.js';
import { verifySignature } from './sign.js';

type Mode = 'ok' | '503' | '429' | '400' | '302' | 'hang' | 'trickle';
interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver on a fixed port, so it can be down for a while and come back on the same address. */
class Receiver {
  mode: Mode = 'ok';
  readonly received: Received[] = [];
  private server: Server | null = null;
  private hanging: ServerResponse[] = [];
  port = 0;

  async start(): Promise<void> {
    const listen = (port: number) =>
      new Promise<boolean>((resolve) => {
        const server = createServer((req, res) => this.handle(req, res));
        server.once('error', () => resolve(false));
        server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
          this.server = server;
          resolve(true);
        });
      });
    if (this.port) {
      if (!(await listen(this.port))) throw new Error(`cannot listen again on ${this.port}`);
    } else this.port = await listenOnStablePort(listen);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (this.mode === 'hang' || this.mode === 'trickle') {
        // hang: no answer at all; trickle: 200 and the start of a body that never ends.
        if (this.mode === 'trickle') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('accepted, and then nothing more');
        }
        this.hanging.push(res);
        return;
      }
      const status = this.mode === 'ok' ? 200 : Number(this.mode);
      res.writeHead(status, status === 302 ? { location: 'http://127.0.0.1:1/elsewhere' } : { 'content-type': 'text/plain' });
      // A long answer: the deliverer reads only the first 2 KiB of it.
      res.end(status === 200 ? 'ok' : `error ${status} ${'x'.repeat(100_000)}`);
    });
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging.splice(0)) res.destroy();
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const SECRET = 'test-hmac-secret-0123456789abcdef';

const forms = (r: Receiver, extra = '') => `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80 }
      - { name: email, type: email, required: true }
      - { name: message, type: textarea, required: true, maxLength: 5000 }
    notify: { to: [owner@example.jp] }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}" }
    webhooks:
      - { name: crm, type: json, url: "${r.url('/json')}", secret: "${SECRET}", on: [accepted, quarantined], template: "{{name}}: {{message}}" }
      - { name: team, type: slack, url: "${r.url('/slack/T000/SECRETPATH')}" }
${extra}`;

// A disallowed word scores 7: quarantined (6 <= 7 < 10); with a disallowed pattern too, rejected.
const DEFENSES = `
defenses:
  formToken: { minFillSeconds: 0 }
  altcha: { cost: 10, minNumber: 5, maxNumber: 40 }
  rateLimit: { enabled: false }
  content: { disallowedWords: [casino], disallowedPatterns: [viagra] }
  symbols: { CONTENT_DISALLOWED_WORD: 7, CONTENT_DISALLOWED_PATTERN: 7 }
`;

const visitor = { name: '山田 太郎', email: 'taro@example.jp', message: 'こんにちは <!here> https://evil.example [toall]' };

describe.skipIf(dbUnavailable())('webhooks through the outbox', () => {
  const receiver = new Receiver();
  let t: TestInstance;
  let clock: ManualClock;

  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
  });
  beforeEach(async () => {
    receiver.received.length = 0;
    receiver.mode = 'ok';
    clock = new ManualClock(Date.now());
    t = await startTestInstance({ forms: forms(receiver), defenses: DEFENSES, clock, startWorker: false });
  });
  afterEach(async () => {
    await t?.close();
    if (!(receiver as unknown as { server: Server | null }).server) await receiver.start();
  });

  const post = async (fields: Record<string, string>) => {
    const res = await submitLikeAPerson(t.url, 'contact', fields);
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; receipt?: string };
  };
  const hooks = () => listMail(t.instance.db.kysely, { kind: 'webhook' });

  it('an accepted inquiry: signed JSON with the fields its template names, Slack without visitor text; rows name the target, never its URL', async () => {
    const answer = await post(visitor);
    // The mail lane leaves webhook rows alone.
    await t.instance.worker.drain();
    expect((await hooks()).map((h) => h.state)).toEqual(['pending', 'pending']);
    expect(receiver.received).toHaveLength(0);

    await t.instance.webhookWorker.drain();
    expect(receiver.received).toHaveLength(2);
    const json = receiver.received.find((r) => r.path === '/json')!;
    const slack = receiver.received.find((r) => r.path.startsWith('/slack'))!;
    const nowSeconds = Math.floor(clock.now().getTime() / 1000);
    expect(verifySignature(SECRET, json.headers['x-formwarden-signature'] as string, json.body, nowSeconds)).toBe(true);
    expect(verifySignature(SECRET, json.headers['x-formwarden-signature'] as string, json.body.replace('山田', '田中'), nowSeconds)).toBe(false);
    expect(json.headers['content-type']).toBe('application/json');
    const payload = JSON.parse(json.body);
    expect(payload).toMatchObject({ type: 'inquiry.accepted', site: 'Example Shop', form: { id: 'contact', title: 'お問い合わせ' }, verdict: { action: 'accept' } });
    // The receipt number the visitor was shown (the submission id where there is no separate one).
    const stored = (await t.instance.db.kysely.selectFrom('submissions').selectAll().where('id', '=', answer.id).executeTakeFirstOrThrow()) as { id: string; receipt?: string | null };
    expect(payload.receipt).toBe(stored.receipt ?? stored.id);
    expect(payload.text).toBe(`${visitor.name}: ${visitor.message}`);
    expect(json.headers['x-formwarden-delivery']).toBe(payload.id);
    expect(json.body).not.toMatch(/[<>]/);

    const text = JSON.parse(slack.body).text as string;
    expect(text).toContain(payload.receipt);
    expect(text).not.toMatch(/山田|こんにちは|evil|here|toall/);
    expect(slack.headers['x-formwarden-signature']).toBeUndefined();

    const rows = await hooks();
    expect(rows.map((r) => [r.to_addr, r.state, r.attempts, r.transport]).sort()).toEqual([
      ['json:crm', 'sent', 1, 'webhook'],
      ['slack:team', 'sent', 1, 'webhook'],
    ]);
    for (const r of rows) {
      const full = JSON.stringify(await getMail(t.instance.db.kysely, r.id));
      expect(full).not.toContain(String(receiver.port));
      expect(full).not.toContain('SECRETPATH');
      expect(full).not.toContain(SECRET);
    }
    // The mail went its own way: notification and auto-reply.
    expect((await listMail(t.instance.db.kysely, { state: 'sent' })).filter((m) => m.kind !== 'webhook')).toHaveLength(2);
  });

  it('a quarantined inquiry reaches only the targets that asked for quarantined; a rejected one none', async () => {
    await post({ ...visitor, message: 'cheap casino here' });
    await t.instance.webhookWorker.drain();
    expect(receiver.received.map((r) => r.path)).toEqual(['/json']);
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ type: 'inquiry.quarantined', verdict: { action: 'quarantine' } });
    expect((await hooks()).map((r) => r.to_addr)).toEqual(['json:crm']);
    const rejected = await post({ ...visitor, message: 'casino viagra' });
    const stored = await t.instance.db.kysely.selectFrom('submissions').select('action').where('id', '=', rejected.id).executeTakeFirst();
    expect(stored?.action).toBe('reject');
    expect(await hooks()).toHaveLength(1);
  });

  it('5xx and 429 are retried on the schedule, then dead; the answer is read only in part', async () => {
    receiver.mode = '503';
    await post(visitor);
    await t.instance.webhookWorker.drain();
    let rows = await hooks();
    expect(rows.every((r) => r.state === 'pending' && r.attempts === 1 && /^E_WEBHOOK_HTTP 503: error 503 x+$/.test(r.last_error ?? ''))).toBe(true);
    expect(rows.every((r) => (r.last_error ?? '').length < 300)).toBe(true);
    expect(await t.instance.webhookWorker.tick()).toBe(0);
    receiver.mode = '429';
    // Schedule [1s, 1s, 1s]: three retries, then dead.
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await t.instance.webhookWorker.drain();
    }
    rows = await hooks();
    expect(rows.map((r) => [r.state, r.attempts])).toEqual([['dead', 4], ['dead', 4]]);
    expect(rows[0]!.last_error).toMatch(/^E_WEBHOOK_HTTP 429/);
    expect(receiver.received).toHaveLength(8);
  });

  it('other 4xx and a redirect are dead at once (the redirect is not followed); mail retry queues them again', async () => {
    receiver.mode = '400';
    await post(visitor);
    await t.instance.webhookWorker.drain();
    let dead = await listMail(t.instance.db.kysely, { kind: 'webhook', state: 'dead' });
    expect(dead.map((r) => [r.attempts, r.last_error?.slice(0, 18)])).toEqual([[1, 'E_WEBHOOK_HTTP 400'], [1, 'E_WEBHOOK_HTTP 400']]);

    receiver.mode = '302';
    expect(await retryMail(t.instance.db.kysely, dead[0]!.id, clock.now().getTime())).toBe(true);
    await t.instance.webhookWorker.drain();
    expect((await getMail(t.instance.db.kysely, dead[0]!.id))).toMatchObject({ state: 'dead', attempts: 2, last_error: expect.stringMatching(/^E_WEBHOOK_REDIRECT 302/) });
    expect(receiver.received.filter((r) => r.path === '/elsewhere')).toHaveLength(0);

    receiver.mode = 'ok';
    for (const r of dead) expect(await retryMail(t.instance.db.kysely, r.id, clock.now().getTime())).toBe(true);
    await t.instance.webhookWorker.drain();
    dead = await listMail(t.instance.db.kysely, { kind: 'webhook', state: 'dead' });
    expect(dead).toHaveLength(0);
    expect((await hooks()).every((r) => r.state === 'sent')).toBe(true);
  });

  it('the CLI shows webhook rows by target name (never the URL) and queues a dead one again', async () => {
    receiver.mode = '400';
    await post(visitor);
    await t.instance.webhookWorker.drain();
    const file = path.join(t.db.dir, 'formwarden.yaml');
    writeFileSync(file, testConfigYaml({ dbUrl: t.db.url, forms: forms(receiver), defenses: DEFENSES }));
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const [row] = await listMail(t.instance.db.kysely, { kind: 'webhook', state: 'dead' });
    try {
      expect(await mailList(file, { kind: 'webhook', limit: '10' })).toBe(0);
      expect(await mailShow(file, row!.id, {})).toBe(0);
      expect(await outboxRetry(file, row!.id)).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = out.join('');
    expect(text).toMatch(/json:crm/);
    expect(text).toMatch(/slack:team/);
    expect(text).toMatch(/E_WEBHOOK_HTTP 400/);
    expect(text).toMatch(/target: +(json:crm|slack:team) \(forms\[contact\]\.webhooks; the URL is not stored\)/);
    expect(text).not.toContain(String(receiver.port));
    expect(text).not.toContain('SECRETPATH');
    expect((await getMail(t.instance.db.kysely, row!.id))?.state).toBe('pending');
  });

  it('a receiver that is down: retried, and delivered once it is back', async () => {
    await receiver.stop();
    await post(visitor);
    await t.instance.webhookWorker.drain();
    const rows = await hooks();
    expect(rows.every((r) => r.state === 'pending' && r.attempts === 1 && r.last_error === 'E_WEBHOOK_NET ECONNREFUSED')).toBe(true);
    // Mail is not held up by it.
    await t.instance.worker.drain();
    expect((await listMail(t.instance.db.kysely, { state: 'sent' })).filter((m) => m.kind !== 'webhook')).toHaveLength(2);
    await receiver.start();
    clock.advance(1000);
    await t.instance.webhookWorker.drain();
    expect((await hooks()).every((r) => r.state === 'sent' && r.attempts === 2)).toBe(true);
    expect(receiver.received).toHaveLength(2);
  });

  it('a slow receiver: the attempt times out and is retried, and mail flows meanwhile', async () => {
    await t.close();
    t = await startTestInstance({
      forms: forms(receiver).replace(/webhooks:[\s\S]*$/, `webhooks:\n      - { name: slow, type: discord, url: "${receiver.url('/slow')}", timeout: 2s }\n`),
      defenses: DEFENSES,
      clock,
      startWorker: false,
    });
    receiver.mode = 'hang';
    await post(visitor);
    const inFlight = t.instance.webhookWorker.drain();
    await waitFor(() => receiver.received.length === 1, 'the webhook request to arrive');
    // The webhook is still waiting for its answer: mail is sent all the same.
    await t.instance.worker.drain();
    expect((await listMail(t.instance.db.kysely, { state: 'sent' })).map((m) => m.kind).sort()).toEqual(['autoreply', 'notify']);
    expect((await hooks())[0]!.state).toBe('pending');
    await inFlight;
    const [row] = await hooks();
    expect(row).toMatchObject({ state: 'pending', attempts: 1, last_error: 'E_WEBHOOK_TIMEOUT: no answer within 2000 ms' });
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ allowed_mentions: { parse: [] } });
    receiver.mode = 'ok';
    clock.advance(1000);
    await t.instance.webhookWorker.drain();
    expect((await hooks())[0]).toMatchObject({ state: 'sent', attempts: 2 });
  }, 120_000);

  it('chatwork: the token goes in X-ChatWorkToken (not stored), the body is form-encoded, visitor text forms no tag', async () => {
    await t.close();
    t = await startTestInstance({
      forms: forms(receiver).replace(/webhooks:[\s\S]*$/, `webhooks:\n      - { name: cw, type: chatwork, url: "${receiver.url('/v2/rooms/1/messages')}", secret: "CWTOKEN123", template: "{{name}}\\n{{message}}" }\n`),
      defenses: DEFENSES,
      clock,
      startWorker: false,
    });
    await post(visitor);
    await t.instance.webhookWorker.drain();
    const [req] = receiver.received;
    expect(req!.headers['x-chatworktoken']).toBe('CWTOKEN123');
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const body = new URLSearchParams(req!.body).get('body')!;
    expect(body).toMatch(/^\[info\]\[title\]新しいお問い合わせ: Example Shop \/ お問い合わせ\[\/title\]山田 太郎\nこんにちは <!here> hxxps:\/\/evil［\.］example ［toall］\[\/info\]$/);
    expect(body.match(/\[[^[\]]*\]/g)).toEqual(['[info]', '[title]', '[/title]', '[/info]']);
    expect(body).toContain('［toall］');
    const [row] = await hooks();
    expect(row).toMatchObject({ to_addr: 'chatwork:cw', state: 'sent' });
    expect(JSON.stringify(await getMail(t.instance.db.kysely, row!.id))).not.toContain('CWTOKEN123');
  });

  it('a 200 whose body never ends counts as delivered once the timeout ends the read', async () => {
    await t.close();
    t = await startTestInstance({
      forms: forms(receiver).replace(/webhooks:[\s\S]*$/, `webhooks:\n      - { name: trickle, type: teams, url: "${receiver.url('/trickle')}", timeout: 2s }\n`),
      defenses: DEFENSES,
      clock,
      startWorker: false,
    });
    receiver.mode = 'trickle';
    await post(visitor);
    await t.instance.webhookWorker.drain();
    expect((await hooks())[0]).toMatchObject({ state: 'sent', attempts: 1 });
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0]!.body).attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
  }, 120_000);

  it('survives a restart: a row left pending is delivered by the next instance on the same database', async () => {
    await t.close();
    const db: TestDatabase = await createTestDatabase();
    try {
      await receiver.stop();
      const first = await startTestInstance({ forms: forms(receiver), defenses: DEFENSES, clock, startWorker: false, db });
      const res = await submitLikeAPerson(first.url, 'contact', visitor);
      expect(res.status).toBe(201);
      await first.instance.webhookWorker.drain();
      expect((await listMail(first.instance.db.kysely, { kind: 'webhook' })).every((r) => r.state === 'pending')).toBe(true);
      await first.close();

      await receiver.start();
      clock.advance(5000);
      t = await startTestInstance({ forms: forms(receiver), defenses: DEFENSES, clock, startWorker: false, db });
      await t.instance.webhookWorker.drain();
      expect((await hooks()).map((r) => r.state)).toEqual(['sent', 'sent']);
      const json = receiver.received.find((r) => r.path === '/json')!;
      expect(verifySignature(SECRET, json.headers['x-formwarden-signature'] as string, json.body, Math.floor(clock.now().getTime() / 1000))).toBe(true);
    } finally {
      await t.close();
      t = await startTestInstance({ forms: forms(receiver), defenses: DEFENSES, clock, startWorker: false });
      await db.drop();
    }
  });

  it('a target removed from the configuration: its pending rows are dead, saying so', async () => {
    await receiver.stop();
    await post(visitor);
    await t.instance.webhookWorker.drain();
    const db = t.db;
    await t.instance.close();
    await receiver.start();
    clock.advance(5000);
    const next = await startTestInstance({ forms: forms(receiver).replace(/\n {6}- \{ name: team[^\n]*/, ''), defenses: DEFENSES, clock, startWorker: false, db });
    try {
      await next.instance.webhookWorker.drain();
      const rows = await listMail(next.instance.db.kysely, { kind: 'webhook' });
      expect(rows.map((r) => [r.to_addr, r.state]).sort()).toEqual([['json:crm', 'sent'], ['slack:team', 'dead']]);
      expect(rows.find((r) => r.to_addr === 'slack:team')!.last_error).toMatch(/^E_WEBHOOK_UNKNOWN/);
    } finally {
      await next.instance.close();
      t = { ...t, close: async () => db.drop() };
    }
  });

  it('at most maxPerHour messages per target; the inquiries are all stored', async () => {
    await t.close();
    t = await startTestInstance({ forms: forms(receiver).replace('secret: "', 'maxPerHour: 2, secret: "'), defenses: DEFENSES, clock, startWorker: false });
    for (let i = 0; i < 3; i++) await post({ ...visitor, email: `v${i}@example.jp` });
    const rows = await hooks();
    expect(rows.filter((r) => r.to_addr === 'json:crm')).toHaveLength(2);
    expect(rows.filter((r) => r.to_addr === 'slack:team')).toHaveLength(3);
  });
});
