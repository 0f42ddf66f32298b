// `formwarden submissions delete` as the owner runs it: a dry run without --yes (nothing deleted, the
// counts per table), the erasure of an address with --yes (in Japanese with --lang ja), the suppression
// entry kept unless --include-suppression, one submission by its receipt number, the owner's address noted, and usage errors.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { createInstance, type Instance } from '../src/main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from './support/db.js';
import { OPEN_DEFENSES, testConfigYaml } from './support/instance.js';
import { runCliAsync } from './support/process.js';

describe.skipIf(dbUnavailable())('formwarden submissions delete', () => {
  let db: TestDatabase;
  let instance: Instance;
  let config: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    config = path.join(db.dir, 'formwarden.yaml');
    const yaml = testConfigYaml({ dbUrl: db.url, defenses: OPEN_DEFENSES });
    writeFileSync(config, yaml);
    instance = await createInstance({ config: parseConfigText(yaml, 'test'), file: null, baseDir: db.dir }, { startWorker: false });
  });
  afterAll(async () => {
    await instance?.close();
    await db?.drop();
  });

  async function post(email: string): Promise<{ id: string; receipt: string }> {
    const res = await instance.app.inject({
      method: 'POST',
      url: '/api/forms/contact/submissions',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'Taro', email, message: 'hello', _token: instance.defenses.tokens.issueToken('contact', new Date()), website: '' }),
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; receipt: string };
  }
  const cli = (...args: string[]) => runCliAsync(['--config', config, 'submissions', 'delete', ...args], { env: { LANG: 'C', LC_ALL: '', LC_MESSAGES: '' } });
  const ids = async () => (await instance.db.kysely.selectFrom('submissions').select('id').orderBy('id').execute()).map((r) => r.id);

  it('dry run, then erasure of an address; the suppression entry stays unless asked', async () => {
    const mine = [await post('hanako@example.jp'), await post('Hanako@Example.JP')];
    const other = await post('xhanako@example.jp');
    await instance.worker.drain();
    await instance.db.kysely.insertInto('suppressions').values({ address: 'hanako@example.jp', reason: 'link', note: '', created_at: Date.now() }).execute();

    const dry = await cli('--email', 'HANAKO@example.jp');
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('Would delete for HANAKO@example.jp (dry run: nothing was deleted):');
    expect(dry.stdout).toMatch(/^ {2}submissions +2$/m);
    const theirMails = await instance.db.kysely.selectFrom('outbox').select('id').where('submission_id', 'in', mine.map((m) => m.id)).execute();
    expect(theirMails.length).toBeGreaterThanOrEqual(2);
    expect(dry.stdout).toMatch(new RegExp(`^ {2}outbox +${theirMails.length}$`, 'm'));
    expect(dry.stdout).toMatch(/^ {2}suppressions +0$/m);
    for (const m of mine) expect(dry.stdout).toContain(m.id);
    expect(dry.stdout).not.toContain(other.id);
    expect(dry.stdout).toContain('The suppression list entry hanako@example.jp is kept');
    expect(dry.stdout).toContain('Run again with --yes to delete.');
    expect(await ids()).toHaveLength(3);

    const ja = await cli('--email', 'HANAKO@example.jp', '--yes', '--lang', 'ja');
    expect(ja.status).toBe(0);
    expect(ja.stdout).toContain('HANAKO@example.jp について削除しました:');
    expect(ja.stdout).toMatch(/^ {2}submissions +2$/m);
    expect(ja.stdout).toContain('抑止リストの hanako@example.jp は残しました。');
    expect(await ids()).toEqual([other.id]);
    const mails = await instance.db.kysely.selectFrom('outbox').select('to_addr').execute();
    expect(mails.map((m) => m.to_addr).sort()).toEqual(['owner@example.jp', 'xhanako@example.jp']);

    const json = await cli('--email', 'hanako@example.jp', '--yes', '--include-suppression', '--json');
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ dryRun: false, deleted: { submissions: 0, suppressions: 1 }, suppression: { address: 'hanako@example.jp', kept: false } });
    expect(await instance.db.kysely.selectFrom('suppressions').select('address').execute()).toEqual([]);
  }, 120_000);

  it('one submission by its receipt number; usage errors', async () => {
    const s = await post('jiro@example.jp');
    const dry = await cli(s.receipt.toLowerCase());
    expect(dry.status).toBe(0);
    expect(await ids()).toContain(s.id);
    const done = await cli(s.receipt, '--yes');
    expect(done.stdout).toContain(`Deleted for ${s.receipt}:`);
    expect(done.stdout).toMatch(/^ {2}submissions +1$/m);
    expect(await ids()).not.toContain(s.id);
    expect((await cli(s.receipt, '--yes')).status).toBe(1);
    expect((await cli()).status).toBe(2);
    expect((await cli(s.id, '--email', 'a@b.jp')).status).toBe(2);
    // The owner's own address: every notification is a mail to it, and the output says so.
    const owner = await cli('--email', 'Owner@example.jp');
    expect(owner.status).toBe(0);
    expect(owner.stdout).toContain('Note: Owner@example.jp is an owner address in the configuration');
    const bad = await cli('--email', 'a@b.jp, c@d.jp');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('is not one plain email address');
  }, 120_000);
});
