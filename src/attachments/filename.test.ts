import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_FILENAME_LENGTH, sanitizeFilename } from './filename.js';
import { EXTENSIONS, FAMILIES } from './sniff.js';

describe('sanitizeFilename: a label, never a path', () => {
  it('keeps an ordinary name and fixes the extension to the sniffed type', () => {
    expect(sanitizeFilename('見積書 2026.pdf', 'pdf')).toBe('見積書 2026.pdf');
    expect(sanitizeFilename('Photo.JPG', 'jpeg')).toBe('Photo.JPG'.slice(0, 5) + '.jpg');
    expect(sanitizeFilename('invoice.pdf.exe', 'png')).toBe('invoice.pdf.exe.png');
    expect(sanitizeFilename('../../etc/passwd', 'text')).toBe('passwd.txt');
    expect(sanitizeFilename('C:\\Users\\me\\report.docx', 'docx')).toBe('report.docx');
    expect(sanitizeFilename('evil\u202Egnp.exe', 'png')).toBe('evilgnp.exe.png');
    expect(sanitizeFilename('a\r\nContent-Type: image\r\n.jpg', 'jpeg')).toBe('aContent-Type_ image.jpg');
    expect(sanitizeFilename('', 'gif')).toBe('attachment.gif');
    expect(sanitizeFilename('...', 'gif')).toBe('attachment.gif');
    expect(sanitizeFilename('CON.txt', 'text')).toBe('_CON.txt');
  });

  // The attacker's family: any string at all, with paths, controls, bidi overrides, invisible characters, long runs.
  it('property: no separator, control, bidi or invisible character survives; the length is capped; the extension fits', () => {
    const nasty = fc.constantFrom('/', '\\', '\u0000', '\r', '\n', '\u202E', '\u2066', '\u200B', '\uFEFF', '\u0085', '\u2028', '..', ':', '"', '<', '>', '|', '?', '*', '%', 'ａ', '𠮷', '.exe', '.html', ' ');
    const name = fc.array(fc.oneof(fc.string({ maxLength: 30 }), nasty, fc.string({ unit: 'grapheme', maxLength: 30 })), { maxLength: 20 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(name, fc.constantFrom(...FAMILIES), (raw, family) => {
        const out = sanitizeFilename(raw, family);
        expect([...out].length).toBeLessThanOrEqual(MAX_FILENAME_LENGTH);
        expect(out).not.toMatch(/[/\\<>:"|?*;%$`]/);
        expect(out).not.toMatch(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u);
        expect(out.startsWith('.')).toBe(false);
        const ext = out.slice(out.lastIndexOf('.') + 1).toLowerCase();
        expect(EXTENSIONS[family]).toContain(ext);
        expect(sanitizeFilename(out, family)).toBe(out);
      }),
      { numRuns: 1000 },
    );
  });
});
