// /metrics names the forms and their figures: it answers only the addresses server.metricsFrom lists (loopback
// by default), judged by the direct connection (never X-Forwarded-For), so a server opened to the network
// (`serve --host 0.0.0.0`) shows it to nobody else. Everyone else gets the same 404 as an unknown path.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../config/load.js';
import { createInstance, type Instance } from '../main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { testConfigYaml } from '../../test/support/instance.js';

const LOOPBACK = ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'];

describe.skipIf(dbUnavailable())('who may read /metrics', () => {
  let db: TestDatabase;
  let plain: Instance;
  let listed: Instance;
  beforeAll(async () => {
    db = await createTestDatabase();
    const config = parseConfigText(testConfigYaml({ dbUrl: db.url }), 'test');
    plain = await createInstance({ config, file: null, baseDir: db.dir }, { startWorker: false });
    listed = await createInstance({ config: { ...config, server: { ...config.server, metricsFrom: ['192.0.2.0/24', '2001:db8::/32'] } }, file: null, baseDir: db.dir }, { startWorker: false });
  });
  afterAll(async () => {
    await plain?.close();
    await listed?.close();
    await db?.drop();
  });
  const get = (app: Instance, url: string, remoteAddress: string, headers: Record<string, string> = {}) => app.app.inject({ method: 'GET', url, remoteAddress, headers });

  it('by default: this machine reads it, any other address gets 404, whatever X-Forwarded-For says', async () => {
    for (const ip of LOOPBACK) {
      const res = await get(plain, '/metrics', ip);
      expect(res.statusCode, ip).toBe(200);
      expect(res.body).toContain('formwarden_submissions_total');
    }
    const outside = await get(plain, '/metrics', '192.0.2.9', { 'x-forwarded-for': '127.0.0.1' });
    expect(outside.statusCode).toBe(404);
    expect(outside.json()).toMatchObject({ error: { code: 'E_NOT_FOUND' } });
    expect(outside.body).not.toContain('formwarden_');
    expect((await get(plain, '/metrics?x=1', '10.1.2.3')).statusCode).toBe(404);
    // The balancer's health check is not figures: it answers everyone.
    expect((await get(plain, '/healthz', '192.0.2.9')).statusCode).toBe(200);
  });

  it('property: no address outside loopback reads it by default', async () => {
    // ipaddr.js's own reading of "loopback" (IPv4-mapped forms included) is the oracle, not ours.
    const outsider = fc.oneof(fc.ipV4(), fc.ipV6()).filter((ip) => ipaddr.process(ip).range() !== 'loopback');
    await fc.assert(
      fc.asyncProperty(outsider, async (ip) => {
        const res = await get(plain, '/metrics', ip);
        expect(res.statusCode, ip).toBe(404);
        expect(res.body).not.toContain('formwarden_');
      }),
      { numRuns: 100 },
    );
  });

  it('server.metricsFrom lists who reads it (a Prometheus on another machine): then only those', async () => {
    expect((await get(listed, '/metrics', '192.0.2.77')).statusCode).toBe(200);
    expect((await get(listed, '/metrics', '2001:db8::5')).statusCode).toBe(200);
    expect((await get(listed, '/metrics', '198.51.100.1')).statusCode).toBe(404);
    expect((await get(listed, '/metrics', '127.0.0.1')).statusCode).toBe(404);
  });

  it('an entry that is no address or range stops start-up, naming the setting', () => {
    const yaml = testConfigYaml({ dbUrl: db.url }).replace('trustProxy: [127.0.0.1]', 'trustProxy: [127.0.0.1], metricsFrom: [prometheus.lan]');
    let err: unknown;
    try {
      parseConfigText(yaml, 'test');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toMatch(/server\.metricsFrom.*not an IP address or CIDR/);
  });
});
