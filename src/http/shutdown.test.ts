// Closing the server while a keep-alive connection has a request in flight: the request is answered, and
// close() does not then wait out the 72 s keep-alive timeout on that connection (found when a CI run's
// afterAll hook hung for 60 s closing a test instance).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareForm } from '../client/protocol.js';
import { startTestInstance } from '../../test/support/instance.js';
import { endKeepAliveOnClose } from './shutdown.js';

/** 'closed' if the promise settles within the guard, 'still open' otherwise (the keep-alive timeout is 72 s). */
const settlesOrHangs = (p: Promise<unknown>) =>
  Promise.race([p.then(() => 'closed'), new Promise((r) => setTimeout(r, 30_000).unref()).then(() => 'still open')]);

describe('closing with a request in flight', () => {
  // A fake CAPTCHA verifier that holds each answer until the test lets it go: the intake is then in flight.
  let verifier: Server;
  let verifyUrl = '';
  const held: ServerResponse[] = [];
  let arrived: () => void = () => {};
  beforeAll(async () => {
    verifier = createServer((req: IncomingMessage, res) => {
      req.resume();
      req.on('end', () => {
        held.push(res);
        arrived();
      });
    });
    await new Promise<void>((r) => verifier.listen(0, '127.0.0.1', r));
    verifyUrl = `http://127.0.0.1:${(verifier.address() as AddressInfo).port}/siteverify`;
  });
  afterAll(async () => {
    verifier.closeAllConnections();
    await new Promise((r) => verifier.close(r));
  });

  it('the inquiry in flight is stored and answered with Connection: close, and close() returns', async () => {
    const t = await startTestInstance({
      startWorker: false,
      defenses: `
defenses:
  formToken: { minFillSeconds: 0 }
  altcha: { enabled: false }
  rateLimit: { enabled: false }
  captcha: { provider: recaptcha, secret: sekret, sitekey: "6LcFake", verifyUrl: "${verifyUrl}", timeoutMs: 30000, hostnames: [127.0.0.1], action: contact }
`,
    });
    let closed = false;
    try {
      const prepared = await prepareForm(t.url, 'contact');
      const atVerifier = new Promise<void>((r) => (arrived = r));
      const answer = fetch(`${t.url}/api/forms/contact/submissions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Taro', email: 'taro@example.jp', message: 'hello', 'g-recaptcha-response': 'tok', ...prepared.fields }),
      });
      await atVerifier;
      const closing = t.instance.close();
      held.shift()!.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true, score: 0.9, action: 'contact', hostname: '127.0.0.1' }));
      const res = await answer;
      expect(res.status).toBe(201);
      expect(res.headers.get('connection')).toBe('close');
      await res.text();
      expect(await settlesOrHangs(closing)).toBe('closed');
      closed = true;
    } finally {
      if (!closed) await t.instance.close().catch(() => {});
      await t.db.drop();
    }
  });

  it('a streamed answer begun before close ends its connection when it is done', async () => {
    const app = Fastify();
    endKeepAliveOnClose(app);
    const body = new PassThrough();
    app.get('/stream', (_req, reply) => reply.type('text/plain').send(body));
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    body.write('begun, ');
    const res = await fetch(`${base}/stream`);
    // Headers went out before closing began: they promise keep-alive.
    expect(res.headers.get('connection')).toBe('keep-alive');
    const closing = app.close();
    // The server has stopped listening (server.close() ran) before the answer ends.
    await expect.poll(() => app.server.listening).toBe(false);
    body.end('done');
    expect(await res.text()).toBe('begun, done');
    expect(await settlesOrHangs(closing)).toBe('closed');
  });
});
