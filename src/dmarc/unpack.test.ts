import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { makeZip, zeroBomb } from '../../test/support/zip.js';
import { DmarcError, parseDmarcXml } from './parse.js';
import { openReport, sniffReport } from './unpack.js';

const xml = readFileSync(new URL('./fixtures/google-like.xml', import.meta.url));

async function readAll(data: Buffer, opts = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of openReport(data, opts)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
async function refusal(p: Promise<unknown>): Promise<DmarcError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(DmarcError);
  return e as DmarcError;
}

describe('openReport', () => {
  it('recognises xml, gzip and zip by their first bytes', () => {
    expect(sniffReport(xml)).toBe('xml');
    expect(sniffReport(Buffer.concat([Buffer.from('\ufeff \r\n'), xml]))).toBe('xml');
    expect(sniffReport(zlib.gzipSync(xml))).toBe('gzip');
    expect(sniffReport(makeZip([{ name: 'r.xml', data: xml }]))).toBe('zip');
    expect(sniffReport(Buffer.from('Received: x\n'))).toBeNull();
    expect(() => openReport(Buffer.from('%PDF-1.4'))).toThrow(DmarcError);
  });

  it('gives the same report from plain XML, .xml.gz, a deflated zip entry and a stored one', async () => {
    const plain = await parseDmarcXml(xml);
    for (const data of [zlib.gzipSync(xml), makeZip([{ name: 'bigmail.example!example.jp!1764806400!1764892799.xml', data: xml }]), makeZip([{ name: 'r.xml', data: xml, method: 0 }]), makeZip([{ name: 'd/', data: Buffer.alloc(0), method: 0 }, { name: 'd/r.xml', data: xml }])]) {
      expect(await parseDmarcXml(openReport(data))).toEqual(plain);
    }
  });

  it('refuses a 200 MB gzip bomb after decompressing no more than the cap (+ one chunk)', async () => {
    const { data } = await zeroBomb(200 * 1024 * 1024, 'gzip');
    expect(data.length).toBeLessThan(400_000);
    const e = await refusal(readAll(data));
    expect(e.code).toBe('E_DMARC_BOMB');
    expect(Number(e.detail.produced)).toBeLessThanOrEqual(Number(e.detail.limit) + 64 * 1024);
    expect(Number(e.detail.limit)).toBeLessThanOrEqual(64 * 1024 * 1024);
    // Zeros are not XML: the parser stops at once. Well-formed so far (a root, then spaces): the cap stops it.
    expect((await refusal(parseDmarcXml(openReport(data)))).code).toBe('E_DMARC_XML');
    const { data: spaces } = await zeroBomb(200 * 1024 * 1024, 'gzip', { prefix: '<?xml version="1.0"?><feedback>', fill: 0x20 });
    const viaParser = await refusal(parseDmarcXml(openReport(spaces)));
    expect(viaParser.code).toBe('E_DMARC_BOMB');
    expect(Number(viaParser.detail.produced)).toBeLessThanOrEqual(64 * 1024 * 1024 + 64 * 1024);
  });

  it('refuses a 200 MB zip bomb the same way', async () => {
    const { data, crc } = await zeroBomb(200 * 1024 * 1024, 'raw');
    const zip = makeZip([{ name: 'report.xml', data: Buffer.alloc(0), deflated: data, size: 200 * 1024 * 1024, crc }]);
    const e = await refusal(readAll(zip));
    expect(e.code).toBe('E_DMARC_BOMB');
    expect(Number(e.detail.produced)).toBeLessThanOrEqual(Number(e.detail.limit) + 64 * 1024);
  });

  it('refuses a ratio above the cap beyond the free first MiB, and allows it below', async () => {
    const { data } = await zeroBomb(5 * 1024 * 1024, 'gzip');
    const e = await refusal(readAll(data, { maxRatio: 100 }));
    expect(e.code).toBe('E_DMARC_BOMB');
    expect(e.message).toMatch(/more than 100:1/);
    expect(Number(e.detail.produced)).toBeLessThanOrEqual(Math.max(1024 * 1024, data.length * 100) + 64 * 1024);
    // The same at a small absolute cap.
    expect((await refusal(readAll(data, { maxBytes: 2 * 1024 * 1024 }))).message).toMatch(/more than 2097152 bytes/);
    // A small highly compressible report (< 1 MiB) passes whatever its ratio.
    const { data: small } = await zeroBomb(900 * 1024, 'gzip');
    expect((await readAll(small, { maxRatio: 2 })).length).toBe(900 * 1024);
  });

  it('refuses zips with many entries, an archive inside, several reports, damage or encryption', async () => {
    const five = makeZip(Array.from({ length: 5 }, (_, i) => ({ name: `r${i}.xml`, data: xml })));
    expect(() => openReport(five)).toThrow(/5 entries/);
    expect(() => openReport(makeZip([{ name: 'inner.zip', data: makeZip([{ name: 'r.xml', data: xml }]) }]))).toThrow(/archive inside/);
    expect(() => openReport(makeZip([{ name: 'r.xml.gz', data: zlib.gzipSync(xml) }]))).toThrow(/archive inside/);
    expect(() => openReport(makeZip([{ name: 'r.xml', data: makeZip([{ name: 'x.xml', data: xml }]), method: 0 }]))).toThrow(/not XML/);
    expect(() => openReport(makeZip([{ name: 'a.xml', data: xml }, { name: 'b.xml', data: xml }]))).toThrow(/one report/);
    expect(() => openReport(makeZip([{ name: 'r.xml', data: xml }]).subarray(0, 100))).toThrow(/unreadable zip/);
    const bad = await refusal(readAll(makeZip([{ name: 'r.xml', data: xml, crc: 1234 }])));
    expect(bad.message).toMatch(/CRC-32/);
    const enc = makeZip([{ name: 'r.xml', data: xml }]);
    const cd = enc.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    enc.writeUInt16LE(1, cd + 8);
    expect(() => openReport(enc)).toThrow(/encrypted/);
  });

  it('refuses damaged gzip with a clear error', async () => {
    const gz = zlib.gzipSync(xml);
    const e = await refusal(readAll(gz.subarray(0, gz.length - 20)));
    expect(e.code).toBe('E_DMARC_ARCHIVE');
    expect(e.message).toMatch(/cannot decompress/);
  });
});
