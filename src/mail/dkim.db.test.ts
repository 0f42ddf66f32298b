// DKIM end to end: a submission through the real HTTP intake and outbox worker, delivered to a real SMTP
// server; what arrives is verified by mailauth against the record check-config prints. The captured
// transport stores the same signed message.
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitLikeAPerson } from '../client/protocol.js';
import { parseConfigText } from '../config/load.js';
import { createInstance, StartupError } from '../main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { verifyDkim } from '../../test/support/dkim.js';
import { testConfigYaml } from '../../test/support/instance.js';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { loadDkimKey, type DkimConfig } from './dkim.js';
import { listMail } from './outbox.js';

const withDkim = (yaml: string, dkim: DkimConfig) =>
  yaml.replace(
    '  from: "Example Shop <info@example.jp>"',
    `  from: "Example Shop <info@example.jp>"\n  dkim: { domain: ${dkim.domain}, selector: ${dkim.selector}, privateKeyFile: ${dkim.privateKeyFile} }`,
  );

describe.skipIf(dbUnavailable())('DKIM through the outbox worker', () => {
  const sink = new SmtpSink();
  let port = 0;
  let db: TestDatabase;

  beforeAll(async () => {
    port = await sink.start();
    db = await createTestDatabase();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(path.join(db.dir, 'rsa.pem'), rsa, { mode: 0o600 });
    writeFileSync(path.join(db.dir, 'ed.pem'), ed, { mode: 0o600 });
  });
  afterAll(async () => {
    await sink.stop();
    await db.drop();
  });

  it.each([
    ['rsa.pem', 'rsa-sha256'],
    ['ed.pem', 'ed25519-sha256'],
  ])('%s: the notification and the auto-reply arrive signed and verify; a changed body does not', async (file, algo) => {
    const dkim: DkimConfig = { domain: 'example.jp', selector: `fw-${algo.split('-')[0]}`, privateKeyFile: file };
    // A fresh database each time: the same inquiry twice would be held back as a duplicate.
    const own = await createTestDatabase();
    copyFileSync(path.join(db.dir, file), path.join(own.dir, file));
    const config = parseConfigText(withDkim(testConfigYaml({ dbUrl: own.url, transport: `smtp://127.0.0.1:${port}` }), dkim), 'test');
    const instance = await createInstance({ config, file: null, baseDir: own.dir }, { startWorker: false });
    try {
      const url = await instance.listen();
      sink.received.length = 0;
      const res = await submitLikeAPerson(url, 'contact', { name: '山田 太郎', email: 'taro@example.com', message: 'お見積もりをお願いします\nhttps://example.net/' });
      expect(res.status).toBe(201);
      await instance.worker.drain();
      const got = [...sink.to('owner@example.jp'), ...sink.to('taro@example.com')];
      expect(got.map((m) => m.parsed.headers.get('x-formwarden-kind'))).toEqual(['notify', 'autoreply']);
      const key = loadDkimKey(dkim, own.dir);
      for (const m of got) {
        expect(await verifyDkim(m.raw, dkim, key)).toEqual([{ result: 'pass', algo, domain: 'example.jp' }]);
        const text = m.raw.toString('latin1');
        const at = text.indexOf('\r\n\r\n') + 4;
        const tampered = `${text.slice(0, at)}${text.slice(at).replace(/[A-Za-z0-9]/, (c) => (c === 'x' ? 'y' : 'x'))}`;
        expect((await verifyDkim(Buffer.from(tampered, 'latin1'), dkim, key))[0]!.result).not.toBe('pass');
      }
      // What the outbox keeps is what was sent.
      const stored = await listMail(instance.db.kysely, { state: 'sent' });
      expect(stored).toHaveLength(2);
    } finally {
      await instance.close();
      await own.drop();
    }
  });

  it('the capture transport stores the signed message (mail show displays the signature)', async () => {
    const dkim: DkimConfig = { domain: 'example.jp', selector: 'cap', privateKeyFile: 'ed.pem' };
    const fresh = await createTestDatabase();
    writeFileSync(path.join(fresh.dir, 'ed.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const config = parseConfigText(withDkim(testConfigYaml({ dbUrl: fresh.url }), dkim), 'test');
    const instance = await createInstance({ config, file: null, baseDir: fresh.dir }, { startWorker: false });
    try {
      const url = await instance.listen();
      expect((await submitLikeAPerson(url, 'contact', { name: 'Taro', email: 'taro@example.com', message: 'hello' })).status).toBe(201);
      await instance.worker.drain();
      const rows = await instance.db.kysely.selectFrom('outbox').select(['kind', 'raw', 'transport']).where('state', '=', 'sent').execute();
      expect(rows.map((r) => r.kind).sort()).toEqual(['autoreply', 'notify']);
      const key = loadDkimKey(dkim, fresh.dir);
      for (const r of rows) {
        expect(r.transport).toBe('capture');
        expect(r.raw).toMatch(/^DKIM-Signature: v=1; a=ed25519-sha256;/);
        expect(await verifyDkim(Buffer.from(r.raw!, 'utf8'), dkim, key)).toEqual([{ result: 'pass', algo: 'ed25519-sha256', domain: 'example.jp' }]);
      }
    } finally {
      await instance.close();
      await fresh.drop();
    }
  });

  it('a key that went missing after the configuration was read stops start-up with the path', async () => {
    const dkim: DkimConfig = { domain: 'example.jp', selector: 'x', privateKeyFile: 'gone.pem' };
    const config = parseConfigText(withDkim(testConfigYaml({ dbUrl: db.url }), dkim), 'test');
    await expect(createInstance({ config, file: null, baseDir: db.dir })).rejects.toThrow(StartupError);
    await expect(createInstance({ config, file: null, baseDir: db.dir })).rejects.toThrow(`mail.dkim.privateKeyFile (${path.join(db.dir, 'gone.pem')}) does not exist`);
  });
});
