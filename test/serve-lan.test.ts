// The README's way to open Formwarden to other machines on the network: `npm start -- --host 0.0.0.0`
// (serve --host/--port). The flags win over the file; the page and the API answer on the LAN address, and
// the start-up line names that address. A bad flag stops start-up with exit code 2 and the fix.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareForm } from '../src/client/protocol.js';
import { lanAddresses } from '../src/config/load.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { testConfigYaml } from './support/instance.js';
import { stablePort } from './support/ports.js';
import { runCli, startServer, type ServerProcess } from './support/process.js';

const lan = lanAddresses()[0];
if (!lan) process.stderr.write('[serve-lan] skipped: this machine has no non-loopback IPv4 address\n');

describe.skipIf(!lan)('serve --host 0.0.0.0 --port N', () => {
  let db: TestDatabase;
  let config = '';
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    config = path.join(db.dir, 'formwarden.yaml');
    // The file says 127.0.0.1 and port 0: the flags must win.
    writeFileSync(config, testConfigYaml({ dbUrl: db.url }));
  });
  afterAll(async () => {
    await server?.kill();
    await db.drop();
  });

  it('listens on every interface: the page and the API answer on the LAN address, which the start-up line names', async () => {
    // A port the server must be told (the start-up line then names it), outside the range the OS hands out.
    const port = await stablePort();
    server = await startServer(['--config', config], { serveArgs: ['--host', '0.0.0.0', '--port', String(port)] });
    expect(server.url).toBe(`http://0.0.0.0:${port}`);
    expect(server.output()).toContain(`every interface: `);
    expect(server.output()).toContain(`http://${lan}:${port}`);
    const base = `http://${lan}:${port}`;
    const page = await fetch(`${base}/f/contact`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('action="/f/contact"');
    const prepared = await prepareForm(base, 'contact');
    const res = await fetch(`${base}/api/forms/contact/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'LAN Visitor', email: 'lan@example.jp', message: 'Sent from another machine on the network.', ...prepared.fields }),
    });
    expect(res.status).toBe(201);
    // Its figures stay on this machine: /metrics is 404 on the LAN address and 200 on loopback.
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    const local = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(local.status).toBe(200);
    expect(await local.text()).toContain('formwarden_submissions_total');
  });

  it('a port that is not one, an empty host, or an address not on this machine: exit code 2 with the fix', () => {
    const bad = runCli(['--config', config, 'serve', '--port', '80a']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--port "80a": not a port');
    const empty = runCli(['--config', config, 'serve', '--host', ' ']);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('--host is empty');
    // 198.51.100.7 (documentation range) is no address of this machine: no stack trace, the setting named.
    const elsewhere = runCli(['--config', config, 'serve', '--host', '198.51.100.7']);
    expect(elsewhere.status).toBe(2);
    expect(elsewhere.stderr).toContain('cannot listen on 198.51.100.7:0 (EADDRNOTAVAIL)');
    expect(elsewhere.stderr).not.toMatch(/\n\s+at /);
  });
});
