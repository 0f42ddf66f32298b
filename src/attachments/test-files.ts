// Test helper: small but structurally real files of each family, and the shapes attackers use instead.
import { crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';

/** A zip with stored (uncompressed) entries, written as Office writes its directory. */
export function makeZip(entries: Record<string, Buffer | string>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, raw] of Object.entries(entries)) {
    const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    const nameBuf = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    locals.push(local, nameBuf, data);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(nameBuf.length, 28);
    dir.writeUInt32LE(offset, 42);
    central.push(dir, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const dirBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(dirBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dirBuf, end]);
}

/** Filler that cannot contain markup: bytes above 0x7f only. */
export const filler = (n: number): Buffer => Buffer.from(randomBytes(n).map((b) => b | 0x80));

export const files = {
  jpeg: (n = 200) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), filler(n), Buffer.from([0xff, 0xd9])]),
  png: (n = 200) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), filler(n)]),
  gif: (n = 200) => Buffer.concat([Buffer.from('GIF89a'), filler(n)]),
  webp: (n = 200) => {
    const head = Buffer.from('RIFF\0\0\0\0WEBPVP8 ');
    head.writeUInt32LE(n + 8, 4);
    return Buffer.concat([head, filler(n)]);
  },
  heic: (n = 200) => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic'), Buffer.alloc(12), filler(n)]),
  pdf: (n = 200) => Buffer.concat([Buffer.from('%PDF-1.7\n%'), filler(n), Buffer.from('\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n')]),
  text: (s = 'お問い合わせの添付です。\nline 2\n') => Buffer.from(s),
  docx: () => makeZip({ '[Content_Types].xml': '<?xml version="1.0"?><Types/>', '_rels/.rels': '<Relationships/>', 'word/document.xml': '<?xml version="1.0"?><w:document><w:body/></w:document>' }),
  xlsx: () => makeZip({ '[Content_Types].xml': '<Types/>', 'xl/workbook.xml': '<workbook/>' }),
  pptx: () => makeZip({ '[Content_Types].xml': '<Types/>', 'ppt/presentation.xml': '<p:presentation/>' }),
  // What attackers send instead.
  exe: () => Buffer.concat([Buffer.from('MZ\x90\0\x03\0\0\0', 'latin1'), filler(200), Buffer.from('This program cannot be run in DOS mode.')]),
  svg: () => Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>\n'),
  html: () => Buffer.from('<!DOCTYPE html><html><body><script>alert(1)</script></body></html>'),
  docm: () => makeZip({ '[Content_Types].xml': '<Types/>', 'word/document.xml': '<w:document/>', 'word/vbaProject.bin': 'macro' }),
};
