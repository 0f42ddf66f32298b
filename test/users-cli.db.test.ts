// `formwarden users`: console accounts from the command line, the password on standard input (never an
// argument), then a login over HTTP with it against a served instance.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleClient } from './support/console-client.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from './support/db.js';
import { testConfigYaml } from './support/instance.js';
import { runCli, startServer } from './support/process.js';

describe.skipIf(dbUnavailable())('formwarden users', () => {
  let db: TestDatabase;
  let config: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    config = path.join(db.dir, 'formwarden.yaml');
    writeFileSync(config, testConfigYaml({ dbUrl: db.url }));
  });
  afterAll(async () => {
    await db.drop();
  });
  const cli = (args: string[], input?: string) => runCli(['--config', config, 'users', ...args], { input });

  it('add (password from stdin), list, log in, passwd ends the session, totp, remove', async () => {
    expect(cli(['add', 'owner@example.jp']).status).toBe(1); // no --password-stdin
    const short = cli(['add', 'owner@example.jp', '--password-stdin'], 'short\n');
    expect(short.status).toBe(1);
    expect(short.stderr).toContain('too short');
    const add = cli(['add', 'Owner@Example.jp', '--password-stdin'], 'first long password\n');
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    expect(cli(['add', 'member@example.jp', '--role', 'member', '--forms', 'nope', '--password-stdin'], 'first long password').stderr).toContain('no form nope');
    expect(cli(['add', 'member@example.jp', '--role', 'member', '--forms', 'contact', '--password-stdin'], 'first long password').status).toBe(0);
    const list = JSON.parse(cli(['list', '--json']).stdout) as { email: string; role: string; forms: string[]; totp: boolean }[];
    expect(list.map((u) => [u.email, u.role, u.forms, u.totp])).toEqual([
      ['member@example.jp', 'member', ['contact']],
      ['owner@example.jp', 'owner', []],
    ].map((x) => [...x, false]));
    // No password or hash is ever printed.
    expect(cli(['list', '--json']).stdout).not.toMatch(/scrypt|first long password/);

    const server = await startServer(['--config', config]);
    try {
      const c = new ConsoleClient(server.url);
      expect((await c.login('owner@example.jp', 'first long password')).status).toBe(303);
      expect((await c.req('/admin/inbox')).status).toBe(200);
      expect(cli(['passwd', 'owner@example.jp', '--password-stdin'], 'second long password\n').status).toBe(0);
      expect((await c.req('/admin/inbox')).status).toBe(303); // the session ended with the old password
      expect((await c.login('owner@example.jp', 'first long password')).status).toBe(401);
      const totp = cli(['totp', 'owner@example.jp']);
      expect(totp.status).toBe(0);
      expect(totp.stdout).toMatch(/otpauth:\/\/totp\/Example%20Shop:owner%40example\.jp\?issuer=Example%20Shop&secret=[A-Z2-7]{32}/);
      expect((await c.login('owner@example.jp', 'second long password')).status).toBe(401); // code now needed
      expect(cli(['totp', 'owner@example.jp', '--disable']).status).toBe(0);
      expect((await c.login('owner@example.jp', 'second long password')).status).toBe(303);
      expect(cli(['remove', 'owner@example.jp']).status).toBe(0);
      expect((await c.req('/admin/inbox')).status).toBe(303);
      expect(cli(['remove', 'owner@example.jp']).status).toBe(1);
    } finally {
      await server.kill();
    }
  }, 180_000);
});
