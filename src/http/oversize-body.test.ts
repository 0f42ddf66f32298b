// A post over server.bodyLimit is answered 413 before its body is read. Fastify would close the connection
// then, and nginx, still sending the body it buffered, got a broken pipe and showed the visitor a 502
// (test/deploy-tls-browser.test.ts). A body of a size a proxy passes on is read and dropped instead, and
// the connection stays usable; a larger declared body still closes it.
import { request, Agent, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';

function post(url: string, agent: Agent, headers: Record<string, string>, body?: Buffer): Promise<{ res: IncomingMessage; text: string; socketReused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/f/contact`, { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ res, text, socketReused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('a body over server.bodyLimit', () => {
  let t: TestInstance;
  let bodyLimit: number;
  beforeAll(async () => {
    t = await startTestInstance();
    bodyLimit = t.instance.config.server.bodyLimit;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('of a size a proxy passes on: 413, the body is read, the connection stays open for the next request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = Buffer.from(`message=${'a'.repeat(bodyLimit + 1024)}`);
      const first = await post(t.url, agent, { 'content-length': String(body.length) }, body);
      expect(first.res.statusCode).toBe(413);
      expect(first.res.headers.connection).not.toBe('close');
      const second = await post(t.url, agent, { 'content-length': '9' }, Buffer.from('message=b'));
      expect(second.socketReused).toBe(true);
      expect(second.res.statusCode).not.toBe(413);
    } finally {
      agent.destroy();
    }
  });

  it('declared larger than any proxy passes on (16 MiB): 413 and the connection is closed unread', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Only the headers are sent: the answer comes without waiting for the body.
      const r = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(`${t.url}/f/contact`, { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(32 * 1024 * 1024) } }, resolve);
        req.on('error', reject);
        req.flushHeaders();
      });
      r.resume();
      expect(r.statusCode).toBe(413);
      expect(r.headers.connection).toBe('close');
    } finally {
      agent.destroy();
    }
  });
});
