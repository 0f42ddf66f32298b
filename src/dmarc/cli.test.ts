// `formwarden dmarc parse` run in-process: one JSON line per report from bare reports (.xml, .xml.gz,
// .zip), a mail, an mbox; refusals on stderr and exit status 1; text from reports made terminal-safe.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { reportMail } from '../../test/support/dmarc-mail.js';
import { makeZip } from '../../test/support/zip.js';
import { runDmarcParse } from './cli.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'fw-dmarc-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  return { s, text: () => text };
}
async function run(paths: string[], json = true) {
  const out = capture();
  const err = capture();
  const code = await runDmarcParse(paths, { json }, { out: out.s, err: err.s });
  return { code, out: out.text(), err: err.text() };
}
const file = (name: string, data: Buffer | string) => {
  const p = path.join(dir, name);
  writeFileSync(p, data);
  return p;
};

describe('formwarden dmarc parse', () => {
  it('prints one JSON line per report with the documented fields, from every kind of file', async () => {
    const xml = file('g.xml', fixture('google-like.xml'));
    const gz = file('m.xml.gz', zlib.gzipSync(fixture('microsoft-like.xml')));
    const zip = file('y.zip', makeZip([{ name: 'y.xml', data: fixture('yahoo-like.xml') }]));
    const mail = reportMail([{ type: 'application/gzip', name: 'min.xml.gz', data: zlib.gzipSync(fixture('minimal.xml')) }]);
    const eml = file('r.eml', mail);
    const mbox = file('r.mbox', Buffer.concat([Buffer.from('From x@y Thu Dec  4 00:00:00 2026\n'), mail, Buffer.from('\nFrom x@y Thu Dec  4 00:00:01 2026\n'), mail]));
    const r = await run([xml, gz, zip, eml, mbox]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.file, l.reportId])).toEqual([
      [xml, '16437218273098765432'], [gz, '8f1c2a9e4b7d4e21a0c3d5b6e7f80912'], [zip, '1764892800.428193'], [`${eml}:min.xml.gz`, 'r-1'], [`${mbox}:min.xml.gz`, 'r-1'], [`${mbox}#1:min.xml.gz`, 'r-1'],
    ]);
    expect(lines[0]).toEqual({
      file: xml, orgName: 'bigmail.example', reportId: '16437218273098765432', domain: 'example.jp', begin: '2025-12-04T00:00:00Z', end: '2025-12-04T23:59:59Z',
      policy: { domain: 'example.jp', p: 'none', sp: 'none', pct: 100, adkim: 'r', aspf: 'r' },
      records: [
        { sourceIp: '192.0.2.25', count: 12, disposition: 'none', dkim: 'pass', spf: 'pass', headerFrom: 'example.jp', dkimDomains: ['example.jp'], spfDomains: ['example.jp'] },
        { sourceIp: '203.0.113.77', count: 3, disposition: 'none', dkim: 'fail', spf: 'fail', headerFrom: 'example.jp', dkimDomains: [], spfDomains: ['spoofer.example'] },
      ],
    });
  });

  it('reports each refused file on stderr and exits 1; the good ones are still printed', async () => {
    const bad = file('bad.xml', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><feedback>&a;</feedback>');
    const good = file('ok.xml', fixture('minimal.xml'));
    const r = await run([bad, path.join(dir, 'missing.xml'), good]);
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/bad\.xml: E_DMARC_DTD: the report has a DOCTYPE/);
    expect(r.err).toMatch(/cannot read .*missing\.xml/);
  });

  it('shows control characters from a report as escapes, in JSON and in the table', async () => {
    // XML 1.0 has no C0 controls (ESC is refused as not well-formed), but C1 (U+009B CSI) and bidi overrides pass.
    const evil = file('evil.xml', fixture('minimal.xml').toString().replace('small.example', 'evil\u009b2J\u202eorg'));
    const j = await run([evil]);
    expect(j.code).toBe(0);
    expect(j.out).not.toMatch(/[\u009b\u202e]/);
    expect(j.out).toContain('evil\\u009b2J\\u202eorg');
    const t = await run([evil], false);
    expect(t.out).not.toMatch(/[\u009b\u202e]/);
    expect(t.out).toMatch(/evil\\x9b2J\\u202eorg/);
    expect(t.out).toMatch(/192\.0\.2\.1\s+0\s+none\s+fail\s+pass\s+example\.jp/);
  });
});
