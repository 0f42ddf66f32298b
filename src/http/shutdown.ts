// Closing the server must not wait on keep-alive connections. Node's server.close() ends the connections
// idle at that moment, and Fastify answers requests that arrive later with 503 and "Connection: close";
// but a request already in its handler is answered with "keep-alive: timeout=72", and its connection then
// holds close() open for the whole keep-alive timeout (72 s: longer than Docker's stop timeout, and longer
// than a test's hook).
import type { FastifyInstance } from 'fastify';

/** How often, while closing, the connections that have since gone idle are ended. */
const SWEEP_MS = 100;

export function endKeepAliveOnClose(app: FastifyInstance): void {
  let closing = false;
  let sweep: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    closing = true;
    // A response already on its way when closing began leaves its connection idle a moment later.
    sweep = setInterval(() => app.server.closeIdleConnections(), SWEEP_MS);
    sweep.unref();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clearInterval(sweep);
    done();
  });
  // Answers finished while closing tell the client not to reuse the connection, and Node ends it after them.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (closing && req.raw.httpVersionMajor === 1) reply.header('connection', 'close');
    done(null, payload);
  });
}
