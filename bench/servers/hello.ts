// Baseline server: bare Fastify, one GET route answering a small JSON object. No plugins.
import Fastify from 'fastify';
import { runServer } from './child.js';

await runServer(async () => {
  const app = Fastify({ logger: false });
  app.get('/', async () => ({ hello: 'world' }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
});
