import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { expandAccept, sniff, zipNames } from './sniff.js';
import { filler, files, makeZip } from './test-files.js';

describe('sniff: the type comes from the bytes', () => {
  it('recognises every allowed family', () => {
    const expected = { jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic', pdf: 'application/pdf', text: 'text/plain; charset=utf-8' } as const;
    for (const [family, type] of Object.entries(expected)) {
      const r = sniff(files[family as keyof typeof expected]());
      expect(r, family).toEqual({ ok: true, family, contentType: type });
    }
    expect(sniff(files.docx())).toMatchObject({ ok: true, family: 'docx' });
    expect(sniff(files.xlsx())).toMatchObject({ ok: true, family: 'xlsx' });
    expect(sniff(files.pptx())).toMatchObject({ ok: true, family: 'pptx' });
  });

  it('refuses executables, SVG, HTML, macros, empty files and plain zips', () => {
    expect(sniff(files.exe())).toEqual({ ok: false, reason: 'unknown' });
    expect(sniff(files.svg())).toEqual({ ok: false, reason: 'active_content' });
    expect(sniff(files.html())).toEqual({ ok: false, reason: 'active_content' });
    expect(sniff(files.docm())).toEqual({ ok: false, reason: 'macro' });
    expect(sniff(Buffer.alloc(0))).toEqual({ ok: false, reason: 'unknown' });
    expect(sniff(makeZip({ 'a.txt': 'hello' }))).toEqual({ ok: false, reason: 'unknown' });
    expect(sniff(Buffer.concat([files.docx(), Buffer.from('trailing')]))).toEqual({ ok: false, reason: 'malformed' });
    expect(sniff(Buffer.from('%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>'))).toEqual({ ok: false, reason: 'active_content' });
  });

  it('an accept list expands groups', () => {
    expect([...expandAccept(['image', 'pdf'])].sort()).toEqual(['gif', 'heic', 'jpeg', 'pdf', 'png', 'webp']);
    expect([...expandAccept(['office'])].sort()).toEqual(['docx', 'pptx', 'xlsx']);
  });

  // The attacker's family: a file of an allowed kind with markup a browser would run anywhere in it, in any case.
  it('property: a polyglot (allowed magic + HTML/SVG/script anywhere) is refused', () => {
    const markup = fc.constantFrom('<script>alert(1)</script>', '<svg onload=alert(1)>', '<html>', '<!DOCTYPE html>', '<iframe src=x>', '<?php system($_GET[1]); ?>', 'javascript:alert(1)', '<body onload=x>');
    const kind = fc.constantFrom('jpeg', 'png', 'gif', 'webp', 'heic', 'pdf', 'text', 'docx') as fc.Arbitrary<'jpeg' | 'png' | 'gif' | 'webp' | 'heic' | 'pdf' | 'text' | 'docx'>;
    fc.assert(
      fc.property(kind, markup, fc.nat(), fc.boolean(), (k, m, at, upper) => {
        const base = k === 'docx' ? files.docx() : files[k]();
        const inject = Buffer.from(upper ? m.toUpperCase() : m);
        const cut = k === 'docx' ? 30 : Math.min(base.length, 16 + (at % Math.max(1, base.length - 16)));
        const poly = k === 'docx' ? makeZip({ '[Content_Types].xml': '<Types/>', 'word/document.xml': `<w:document>${inject.toString()}</w:document>` }) : Buffer.concat([base.subarray(0, cut), inject, base.subarray(cut)]);
        const r = sniff(poly);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('property: an executable or markup file is refused whatever bytes follow', () => {
    const head = fc.constantFrom('MZ', '\x7fELF', '#!/bin/sh\n', '<svg', '<?xml version="1.0"?><svg', '<html', 'PK\x03\x04');
    fc.assert(
      fc.property(head, fc.uint8Array({ maxLength: 2000 }), (h, tail) => {
        // Executable headers are followed by NUL bytes in every real executable.
        const binary = h === 'MZ' || h === '\x7fELF';
        const r = sniff(Buffer.concat([Buffer.from(h, 'latin1'), Buffer.from(binary ? [0] : []), Buffer.from(tail)]));
        if (r.ok) expect(['text']).toContain(r.family); // '#!/bin/sh' + text is text (never run: attached as text/plain)
        if (h.includes('svg') || h.includes('html')) expect(r.ok).toBe(false);
        if (h === 'MZ' || h === '\x7fELF') expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('property: random bytes never throw, and a zip directory read stays bounded', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), (bytes) => {
        const buf = Buffer.from(bytes);
        expect(() => sniff(buf)).not.toThrow();
        expect(() => sniff(Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), buf]))).not.toThrow();
        const names = zipNames(Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), buf]));
        if (names) expect(names.size).toBeLessThanOrEqual(5000);
      }),
      { numRuns: 500 },
    );
    // A directory claiming 65535 entries is refused without walking them.
    const zip = files.docx();
    zip.writeUInt16LE(65535, zip.length - 22 + 10);
    expect(sniff(zip)).toEqual({ ok: false, reason: 'malformed' });
    expect(filler(10).every((b) => b >= 0x80)).toBe(true);
  });
});
