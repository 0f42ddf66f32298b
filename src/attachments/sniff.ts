// What a file is, judged from its bytes only (the name and the declared type are ignored). Each family
// is recognised by its magic number and a little structure; anything else is refused, and so is a file
// that carries markup a browser would run (HTML, SVG, script) anywhere in it, whatever it claims to be
// (polyglots). Office files are zips: only their central directory is read, bounded, never unpacked.

export const FAMILIES = ['jpeg', 'png', 'gif', 'webp', 'heic', 'pdf', 'text', 'docx', 'xlsx', 'pptx'] as const;
export type Family = (typeof FAMILIES)[number];

/** Names an `accept:` list may use besides the families: groups of them. */
export const FAMILY_GROUPS: Record<string, readonly Family[]> = {
  image: ['jpeg', 'png', 'gif', 'webp', 'heic'],
  office: ['docx', 'xlsx', 'pptx'],
  document: ['pdf', 'text', 'docx', 'xlsx', 'pptx'],
};

export const CONTENT_TYPES: Record<Family, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  pdf: 'application/pdf',
  text: 'text/plain; charset=utf-8',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

/** File name extensions that fit each family (the first is added to a name that has none of them). */
export const EXTENSIONS: Record<Family, readonly string[]> = {
  jpeg: ['jpg', 'jpeg'],
  png: ['png'],
  gif: ['gif'],
  webp: ['webp'],
  heic: ['heic', 'heif'],
  pdf: ['pdf'],
  text: ['txt', 'csv', 'log', 'md'],
  docx: ['docx'],
  xlsx: ['xlsx'],
  pptx: ['pptx'],
};

/** Why a file is refused: not a known family, markup a browser would run, macros, or a broken container. */
export type RefusedKind = 'unknown' | 'active_content' | 'macro' | 'malformed';
export type Sniffed = { ok: true; family: Family; contentType: string } | { ok: false; reason: RefusedKind };

/** Expands an accept list (families and groups) into families; unknown names are left out (the config schema refuses them). */
export function expandAccept(accept: readonly string[]): Set<Family> {
  const out = new Set<Family>();
  for (const name of accept) {
    const group = FAMILY_GROUPS[name];
    if (group) group.forEach((f) => out.add(f));
    else if ((FAMILIES as readonly string[]).includes(name)) out.add(name as Family);
  }
  return out;
}

export function isAcceptName(name: string): boolean {
  return name in FAMILY_GROUPS || (FAMILIES as readonly string[]).includes(name);
}

const startsWith = (data: Buffer, bytes: number[], at = 0) => data.length >= at + bytes.length && bytes.every((b, i) => data[at + i] === b);
const ascii = (data: Buffer, from: number, to: number) => data.subarray(from, to).toString('latin1');

// Markup that makes a browser (or a mail client's viewer) run or render active content. Searched in the
// whole file, case-insensitively: in compressed or image data these byte strings do not occur by chance.
const ACTIVE_PATTERN = /<(?:script|html|svg|iframe|object|embed|body|head|meta|form|frameset|applet|math|xsl:[a-z]+)\b|<!doctype\s+html|<\?php|javascript:|vbscript:/i;

function hasActiveContent(data: Buffer): boolean {
  // latin1 maps every byte to one character, so the search sees the raw bytes (and ASCII-case folds).
  return ACTIVE_PATTERN.test(data.toString('latin1'));
}

export function sniff(data: Buffer): Sniffed {
  if (data.length === 0) return { ok: false, reason: 'unknown' };
  const family = magic(data);
  if (family === 'malformed') return { ok: false, reason: 'malformed' };
  if (family === 'macro') return { ok: false, reason: 'macro' };
  if (family === null) return { ok: false, reason: hasActiveContent(data.subarray(0, 4096)) ? 'active_content' : 'unknown' };
  // Images and office files may carry XMP metadata (<?xpacket, <x:xmpmeta): that is not active content;
  // every other marker is, in any family.
  if (hasActiveContent(data)) return { ok: false, reason: 'active_content' };
  // A text that opens with a tag is markup (HTML, SVG, XML), however it is spelled: a browser may render it.
  if (family === 'text' && /^(?:\uFEFF)?\s*</.test(data.subarray(0, 1024).toString('utf8'))) return { ok: false, reason: 'active_content' };
  if (family === 'pdf' && /\/JavaScript|\/Launch\b/.test(data.toString('latin1'))) return { ok: false, reason: 'active_content' };
  return { ok: true, family, contentType: CONTENT_TYPES[family] };
}

function magic(data: Buffer): Family | 'macro' | 'malformed' | null {
  if (startsWith(data, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(data, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(data, 0, 6) === 'GIF87a' || ascii(data, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(data, 0, 4) === 'RIFF' && ascii(data, 8, 12) === 'WEBP') return 'webp';
  if (ascii(data, 4, 8) === 'ftyp' && HEIF_BRANDS.has(ascii(data, 8, 12))) return 'heic';
  if (ascii(data, 0, 5) === '%PDF-') return 'pdf';
  if (startsWith(data, [0x50, 0x4b, 0x03, 0x04])) return office(data);
  if (isPlainText(data)) return 'text';
  return null;
}

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs', 'mif1', 'msf1']);

/** UTF-8 (an optional BOM), no NUL and no C0 control but tab, line breaks and form feed. */
function isPlainText(data: Buffer): boolean {
  for (const b of data) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}

/** How much of a zip's central directory is read at most (entries, bytes). */
const ZIP_MAX_ENTRIES = 5000;
const ZIP_MAX_DIRECTORY = 1 << 20;

/**
 * An Office Open XML file: a zip whose end-of-central-directory record ends the file, whose directory
 * names [Content_Types].xml and the part of one known kind. Macros (vbaProject.bin) are refused. Nothing
 * is decompressed.
 */
function office(data: Buffer): Family | 'macro' | 'malformed' | null {
  const names = zipNames(data);
  if (!names) return 'malformed';
  if (!names.has('[Content_Types].xml')) return null;
  for (const n of names) if (MACRO_ENTRY.test(n)) return 'macro';
  if (names.has('word/document.xml')) return 'docx';
  if (names.has('xl/workbook.xml')) return 'xlsx';
  if (names.has('ppt/presentation.xml')) return 'pptx';
  return null;
}

/** Parts that carry code: VBA macros, ActiveX controls, executables and scripts. */
const MACRO_ENTRY = /(^|\/)(vbaProject\.bin|vbaData\.xml)$|(^|\/)activeX\/|\.(exe|dll|com|scr|js|jse|vbs|vbe|wsf|hta|html?|ps1|bat|cmd)$/i;

/** The entry names of a zip's central directory, or null when the structure does not hold together. */
export function zipNames(data: Buffer): Set<string> | null {
  // The end-of-central-directory record: 22 bytes plus a comment of at most 65535, at the very end.
  const min = Math.max(0, data.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = data.length - 22; i >= min; i--) {
    if (data[i] === 0x50 && data.readUInt32LE(i) === 0x06054b50 && i + 22 + data.readUInt16LE(i + 20) === data.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const entries = data.readUInt16LE(eocd + 10);
  const size = data.readUInt32LE(eocd + 12);
  const offset = data.readUInt32LE(eocd + 16);
  if (entries > ZIP_MAX_ENTRIES || size > ZIP_MAX_DIRECTORY || offset + size > eocd) return null;
  const names = new Set<string>();
  let p = offset;
  for (let n = 0; n < entries; n++) {
    if (p + 46 > offset + size || data.readUInt32LE(p) !== 0x02014b50) return null;
    const nameLength = data.readUInt16LE(p + 28);
    const extra = data.readUInt16LE(p + 30);
    const comment = data.readUInt16LE(p + 32);
    if (p + 46 + nameLength > offset + size) return null;
    names.add(data.subarray(p + 46, p + 46 + nameLength).toString('utf8'));
    p += 46 + nameLength + extra + comment;
  }
  return names;
}
