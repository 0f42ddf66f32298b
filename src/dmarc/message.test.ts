import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { reportMail } from '../../test/support/dmarc-mail.js';
import { makeZip } from '../../test/support/zip.js';
import { reportPayloads } from './ingest.js';
import { findReportAttachments } from './message.js';

const xml = readFileSync(new URL('./fixtures/minimal.xml', import.meta.url));

describe('findReportAttachments', () => {
  it('finds gzip, zip and xml attachments by content type, and by file name under a generic type', () => {
    const gz = zlib.gzipSync(xml);
    const zip = makeZip([{ name: 'r.xml', data: xml }]);
    const raw = reportMail([
      { type: 'application/gzip', name: 'a!example.jp!1!2.xml.gz', data: gz },
      { type: 'application/zip', name: 'a!example.jp!1!2.zip', data: zip },
      { type: 'text/xml', data: xml },
      { type: 'application/octet-stream', name: 'b.xml.gz', data: gz },
      { type: 'application/x-gzip', name: 'c.gz', data: gz },
      { type: 'image/png', name: 'logo.png', data: Buffer.from('png') },
    ], { crlf: true });
    const found = findReportAttachments(raw);
    expect(found.map((f) => [f.contentType, f.name])).toEqual([
      ['application/gzip', 'a!example.jp!1!2.xml.gz'], ['application/zip', 'a!example.jp!1!2.zip'], ['text/xml', ''], ['application/octet-stream', 'b.xml.gz'], ['application/x-gzip', 'c.gz'],
    ]);
    expect(found[0]!.data.equals(gz)).toBe(true);
    expect(found[1]!.data.equals(zip)).toBe(true);
    expect(found[2]!.data.equals(xml)).toBe(true);
  });

  it('reads a mail whose whole body is the report, and an RFC 2231 file name', () => {
    const gz = zlib.gzipSync(xml);
    const [one] = findReportAttachments(reportMail([{ type: 'application/gzip', name: 'r.xml.gz', data: gz }], { single: true }));
    expect(one!.data.equals(gz)).toBe(true);
    const [star] = findReportAttachments(reportMail([{ type: 'application/octet-stream', name: '報告 r.zip', data: gz, nameStar: true }]));
    expect(star!.name).toBe('報告 r.zip');
  });

  it('finds nothing in an ordinary mail or a bounce', () => {
    expect(findReportAttachments(Buffer.from('From: a@b.example\nSubject: hi\n\nhello\n'))).toEqual([]);
    expect(findReportAttachments(reportMail([{ type: 'text/plain', name: 'notes.txt', data: Buffer.from('x') }]))).toEqual([]);
  });

  it('reportPayloads: a bare report is itself the payload; a mail gives its attachments', () => {
    expect(reportPayloads(xml)).toEqual([{ name: '', data: xml }]);
    const gz = zlib.gzipSync(xml);
    expect(reportPayloads(gz)).toEqual([{ name: '', data: gz }]);
    expect(reportPayloads(reportMail([{ type: 'application/gzip', name: 'r.xml.gz', data: gz }])).map((p) => p.name)).toEqual(['r.xml.gz']);
  });
});
