// A minimal zip writer for tests (stored or deflate entries, no zip64): enough to build report zips and
// hostile ones (bombs, many entries, nested archives) without a zip library.
import zlib from 'node:zlib';

export interface ZipInput { name: string; data: Buffer; method?: 0 | 8; /** deflated bytes given ready-made (a bomb) */ deflated?: Buffer; size?: number; crc?: number }

export function makeZip(entries: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 8;
    const body = e.deflated ?? (method === 8 ? zlib.deflateRawSync(e.data) : e.data);
    const crc = e.crc ?? zlib.crc32(e.data);
    const size = e.size ?? e.data.length;
    const name = Buffer.from(e.name, 'utf8');
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt16LE(0x0800, 6); lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc >>> 0, 14); lh.writeUInt32LE(body.length, 18); lh.writeUInt32LE(size, 22); lh.writeUInt16LE(name.length, 26);
    locals.push(lh, name, body);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt16LE(0x0800, 8); ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc >>> 0, 16); ch.writeUInt32LE(body.length, 20); ch.writeUInt32LE(size, 24); ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    centrals.push(ch, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** `total` zero bytes (or `fill` bytes after `prefix`) compressed (gzip or raw deflate) without holding them: a decompression bomb. */
export async function zeroBomb(total: number, kind: 'gzip' | 'raw', o: { prefix?: string; fill?: number } = {}): Promise<{ data: Buffer; crc: number }> {
  const z = kind === 'gzip' ? zlib.createGzip({ level: 9 }) : zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve, reject) => { z.on('end', resolve); z.on('error', reject); });
  const chunk = Buffer.alloc(1024 * 1024, o.fill ?? 0);
  let crc = 0;
  if (o.prefix) {
    const head = Buffer.from(o.prefix);
    crc = zlib.crc32(head);
    z.write(head);
  }
  for (let left = total; left > 0; left -= chunk.length) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    crc = zlib.crc32(piece, crc);
    if (!z.write(piece)) await new Promise((r) => z.once('drain', r));
  }
  z.end();
  await done;
  return { data: Buffer.concat(out), crc };
}
