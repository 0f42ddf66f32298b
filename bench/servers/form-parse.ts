// Baseline server: bare Fastify + @fastify/formbody, one POST route that parses the same 3-field
// urlencoded form the Formwarden bench sends and answers 201. No validation, no storage.
import Fastify from 'fastify';
import formbody from '@fastify/formbody';
import { runServer } from './child.js';

await runServer(async () => {
  const app = Fastify({ logger: false });
  await app.register(formbody);
  app.post('/api/forms/contact/submissions', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const ok = typeof body.name === 'string' && typeof body.email === 'string' && typeof body.message === 'string';
    return reply.code(ok ? 201 : 400).send(ok ? { status: 'accepted' } : { error: 'missing field' });
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
});
