// A file's name as the visitor's browser sent it is only a label: never a path, never trusted. It is cut to
// its last path segment, cleaned of control, bidi and invisible characters and of characters that
// file systems or mail clients treat specially, capped in length, and given an extension that fits the
// sniffed type (so "invoice.pdf.exe" holding a PNG becomes "invoice.pdf.exe.png", never an .exe).
import { EXTENSIONS, type Family } from './sniff.js';

/** Longest name kept, in characters, extension included. */
export const MAX_FILENAME_LENGTH = 100;

// C0 and C1 controls, DEL; bidi controls (LRM, RLM, ALM, embeddings, overrides, isolates); zero-width and
// other invisible format characters; the BOM; line and paragraph separators; private-use and unassigned.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;
// Reserved on Windows or meaningful to shells and mail headers.
const RESERVED = /[<>:"/\\|?*;%$`]/g;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

export function sanitizeFilename(raw: string, family: Family): string {
  const base = raw.split(/[/\\]/).pop() ?? '';
  let name = base
    .normalize('NFC')
    .replace(UNSAFE, '')
    .replace(RESERVED, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+|[.\s]+$/g, '');
  if (WINDOWS_DEVICE.test(name)) name = `_${name}`;
  const allowed = EXTENSIONS[family];
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  let stem = allowed.includes(ext) ? name.slice(0, dot) : name;
  const suffix = `.${allowed.includes(ext) ? ext : allowed[0]}`;
  if (stem === '') stem = 'attachment';
  const chars = [...stem];
  if (chars.length + suffix.length > MAX_FILENAME_LENGTH) stem = chars.slice(0, MAX_FILENAME_LENGTH - suffix.length).join('').trim() || 'attachment';
  return `${stem}${suffix}`;
}
