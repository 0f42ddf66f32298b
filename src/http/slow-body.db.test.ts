// A body that never finishes arriving (slowloris) is cut off after server.requestTimeout with 408:
// nothing stored, and the server keeps answering others.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { createInstance, type Instance } from '../main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { testConfigYaml } from '../../test/support/instance.js';

describe.skipIf(dbUnavailable())('slow bodies', () => {
  let db: TestDatabase;
  let instance: Instance;
  let url: URL;
  beforeAll(async () => {
    db = await createTestDatabase();
    const yaml = testConfigYaml({ dbUrl: db.url }).replace('trustProxy: [127.0.0.1]', 'trustProxy: [127.0.0.1], requestTimeout: 1s');
    const config = parseConfigText(yaml, 'test');
    expect(config.server.requestTimeout).toBe('1s');
    instance = await createInstance({ config, file: null, baseDir: db.dir }, { startWorker: false });
    url = new URL(await instance.listen());
  });
  afterAll(async () => {
    await instance?.close();
    await db?.drop();
  });

  it('answers 408 to a request whose body stops arriving, stores nothing, and stays healthy', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let got = '';
      socket.on('data', (d) => (got += d.toString('latin1')));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
      // Headers promise 1,000 bytes; 10 arrive, then nothing (the socket stays open until the server acts).
      socket.write(`POST /api/forms/contact/submissions HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nname=slow&`);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const k = instance.db.kysely;
    const n = await k.selectFrom('submissions').select(k.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(0);
    expect((await fetch(new URL('/healthz', url))).status).toBe(200);
  });
});
