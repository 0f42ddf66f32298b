// The XML of a report from its attachment: plain XML, gzip (.xml.gz) or zip (.zip with one .xml in it),
// recognised by its first bytes, not its name. Decompression is streamed into the XML parser and bounded:
// - an absolute cap on the decompressed bytes (default 64 MiB), and
// - a ratio cap: beyond 1 MiB of output, at most 1000 bytes out per compressed byte in,
// whichever is smaller. Over either: E_DMARC_BOMB, as soon as the output passes the cap (nothing beyond the
// cap is ever decompressed). A zip is read from its central directory by hand (stored or deflate, no zip64,
// no encryption): at most 3 entries, exactly one report among them, no archive inside; its CRC-32 is checked.
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { DEFAULT_MAX_XML_BYTES, DmarcError } from './parse.js';

export interface UnpackOptions {
  /** decompressed bytes at most (default 64 MiB) */
  maxBytes?: number;
  /** output per input byte at most, once the output is past `ratioFreeBytes` (default 1000) */
  maxRatio?: number;
  /** output allowed whatever the ratio (default 1 MiB) */
  ratioFreeBytes?: number;
}

export type ReportKind = 'xml' | 'gzip' | 'zip';

const MAX_ZIP_ENTRIES = 3;

/** What the payload is, by its first bytes; null when none of the three. */
export function sniffReport(data: Buffer): ReportKind | null {
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) return 'gzip';
  if (data.length >= 4 && data.readUInt32LE(0) === 0x04034b50) return 'zip';
  let i = 0;
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) i = 3;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x09 || data[i] === 0x0a || data[i] === 0x0d)) i++;
  return data[i] === 0x3c ? 'xml' : null; // "<"
}

/** Counts what passes; fails past the cap. */
class Cap extends Transform {
  produced = 0;
  constructor(private readonly limit: number, private readonly why: () => string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.produced += chunk.length;
    if (this.produced > this.limit) {
      cb(new DmarcError('E_DMARC_BOMB', this.why(), { limit: this.limit, produced: this.produced }));
      return;
    }
    cb(null, chunk);
  }
}

function capFor(compressed: number, o: UnpackOptions): { limit: number; why: () => string } {
  const abs = o.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const ratio = o.maxRatio ?? 1000;
  const free = o.ratioFreeBytes ?? 1024 * 1024;
  const byRatio = Math.max(free, compressed * ratio);
  if (byRatio < abs) return { limit: byRatio, why: () => `refused: decompresses at more than ${ratio}:1 (${compressed} bytes compressed; a compression bomb?)` };
  return { limit: abs, why: () => `refused: decompresses to more than ${abs} bytes` };
}

/** Decompress `body` with `inflater`, bounded; the CRC-32 checked at the end when `crc` is given. */
function bounded(body: Buffer, inflater: Transform, o: UnpackOptions, crc?: number): Readable {
  const { limit, why } = capFor(body.length, o);
  const cap = new Cap(limit, why);
  let sum = 0;
  const check = new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (crc !== undefined) sum = zlib.crc32(chunk, sum);
      cb(null, chunk);
    },
    flush(cb) {
      if (crc !== undefined && sum >>> 0 !== crc >>> 0) cb(new DmarcError('E_DMARC_ARCHIVE', 'the zip entry is damaged (CRC-32 mismatch)'));
      else cb();
    },
  });
  const out = new PassThrough();
  const fail = (e: Error) => {
    const err = e instanceof DmarcError ? e : new DmarcError('E_DMARC_ARCHIVE', `cannot decompress the report: ${e.message}`);
    inflater.destroy();
    cap.destroy();
    check.destroy();
    out.destroy(err);
  };
  inflater.on('error', fail);
  cap.on('error', fail);
  check.on('error', fail);
  inflater.pipe(cap).pipe(check).pipe(out);
  inflater.end(body);
  return out;
}

/**
 * The report's XML bytes as a stream, from an attachment's bytes. Feed it to parseDmarcXml; errors
 * (DmarcError: E_DMARC_ARCHIVE, E_DMARC_BOMB) surface there.
 */
export function openReport(data: Buffer, opts: UnpackOptions = {}): Readable {
  const kind = sniffReport(data);
  if (kind === 'xml') {
    const max = opts.maxBytes ?? DEFAULT_MAX_XML_BYTES;
    if (data.length > max) throw new DmarcError('E_DMARC_TOO_BIG', `the report's XML is larger than ${max} bytes`, { limit: max });
    return Readable.from([data]);
  }
  if (kind === 'gzip') return bounded(data, zlib.createGunzip(), opts);
  if (kind === 'zip') {
    const e = zipEntry(data);
    if (e.method === 0) {
      // Stored: the bytes are the report; the caps apply the same way.
      return bounded(e.body, new PassThrough(), { ...opts, maxRatio: Infinity }, e.crc);
    }
    return bounded(e.body, zlib.createInflateRaw(), opts, e.crc);
  }
  throw new DmarcError('E_DMARC_ARCHIVE', 'not a report: neither XML, gzip nor zip');
}

const ARCHIVE_NAME = /\.(zip|gz|tgz|tar|bz2|xz|7z|rar|z)$/i;

/** The one report entry of a zip: its method, compressed bytes and CRC-32. */
export function zipEntry(zip: Buffer): { name: string; method: number; body: Buffer; crc: number } {
  const bad = (why: string) => new DmarcError('E_DMARC_ARCHIVE', `unreadable zip: ${why}`);
  // End of central directory: 22 bytes plus a comment of at most 65535.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd === -1) throw bad('no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  const cdSize = zip.readUInt32LE(eocd + 12);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  if (entries === 0xffff || cdOffset === 0xffffffff) throw bad('zip64 is not supported');
  if (entries > MAX_ZIP_ENTRIES) throw new DmarcError('E_DMARC_ARCHIVE', `refused: the zip has ${entries} entries (at most ${MAX_ZIP_ENTRIES}; a report zip holds one file)`);
  if (cdOffset + cdSize > eocd) throw bad('central directory out of bounds');
  const files: { name: string; method: number; flags: number; csize: number; usize: number; crc: number; local: number }[] = [];
  let p = cdOffset;
  for (let n = 0; n < entries; n++) {
    if (p + 46 > eocd || zip.readUInt32LE(p) !== 0x02014b50) throw bad('damaged central directory');
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const csize = zip.readUInt32LE(p + 20);
    const usize = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/')) continue; // a folder
    files.push({ name, method, flags, csize, usize, crc, local });
  }
  if (files.some((f) => ARCHIVE_NAME.test(f.name))) throw new DmarcError('E_DMARC_ARCHIVE', 'refused: an archive inside the zip');
  const xml = files.filter((f) => /\.xml$/i.test(f.name));
  const f = files.length === 1 ? files[0]! : xml.length === 1 ? xml[0]! : null;
  if (!f) throw new DmarcError('E_DMARC_ARCHIVE', `refused: the zip must hold one report (.xml), it holds ${files.length} files`);
  if (f.flags & 0x1) throw bad('encrypted');
  if (f.method !== 0 && f.method !== 8) throw bad(`compression method ${f.method} is not supported`);
  if (f.csize === 0xffffffff || f.usize === 0xffffffff) throw bad('zip64 is not supported');
  const l = f.local;
  if (l + 30 > zip.length || zip.readUInt32LE(l) !== 0x04034b50) throw bad('damaged local header');
  const start = l + 30 + zip.readUInt16LE(l + 26) + zip.readUInt16LE(l + 28);
  if (start + f.csize > zip.length) throw bad('entry out of bounds');
  const body = zip.subarray(start, start + f.csize);
  // A zip inside, whatever its name.
  if (f.method === 0 && sniffReport(body) !== 'xml') throw new DmarcError('E_DMARC_ARCHIVE', 'refused: the zip entry is not XML');
  return { name: f.name, method: f.method, body, crc: f.crc };
}
