// `formwarden dmarc import` run in-process against the configured database: reports stored once, a second
// import of the same files stores nothing new; a refused file is named on stderr, exit status 1.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAndMigrate } from '../store/db.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { testConfigYaml } from '../../test/support/instance.js';
import { runDmarcImport } from './cli.js';
import { loadDmarcRecords } from './store.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

describe.skipIf(dbUnavailable())('formwarden dmarc import', () => {
  let tdb: TestDatabase;
  let config: string;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    config = path.join(tdb.dir, 'formwarden.yaml');
    writeFileSync(config, testConfigYaml({ dbUrl: tdb.url }));
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  async function run(paths: string[]) {
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (c: Buffer) => (o += c));
    err.on('data', (c: Buffer) => (e += c));
    const code = await runDmarcImport(config, paths, { out, err });
    return { code, out: o, err: e };
  }

  it('stores the reports of files once and names refused ones', async () => {
    const gz = path.join(tdb.dir, 'g.xml.gz');
    writeFileSync(gz, zlib.gzipSync(fixture('google-like.xml')));
    const bad = path.join(tdb.dir, 'bad.xml');
    writeFileSync(bad, '<feedback><report_metadata>');
    const first = await run([gz, bad]);
    expect(first.code).toBe(1);
    expect(first.out).toBe('reports 1, stored 1, already stored 0, refused 1, messages without a report 0\n');
    expect(first.err).toMatch(/bad\.xml: E_DMARC_XML: not well-formed XML/);
    const again = await run([gz]);
    expect(again).toEqual({ code: 0, out: 'reports 1, stored 0, already stored 1, refused 0, messages without a report 0\n', err: '' });
    const db = await openAndMigrate(tdb.url, tdb.dir);
    try {
      expect((await loadDmarcRecords(db.kysely)).map((r) => [r.sourceIp, r.count])).toEqual([['192.0.2.25', 12], ['203.0.113.77', 3]]);
    } finally {
      await db.close();
    }
  });
});
