// Message sources: mbox (streamed, bounded per message), Maildir (cur/ + new/), single .eml.
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface SourceMessage { file: string; index: number; raw: Buffer }
export interface SourceOptions { /** bytes kept per message at most (default 10 MB); the rest is skipped */ maxBytes?: number }

const DEFAULT_MAX = 10 * 1024 * 1024;
const SEP = Buffer.from('\nFrom ');

/**
 * Split an in-memory mbox into messages (each keeps its "From " line). A buffer that does not
 * start with "From " yields its first part as a message too, so a plain .eml is one message.
 */
export function* splitMbox(data: Buffer | string): Generator<Buffer> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  let start = 0;
  for (;;) {
    const idx = buf.indexOf(SEP, start);
    if (idx === -1) break;
    const msg = buf.subarray(start, idx + 1);
    if (msg.some((b) => b !== 10 && b !== 13 && b !== 32)) yield msg;
    start = idx + 1;
  }
  const last = buf.subarray(start);
  if (last.length && last.some((b) => b !== 10 && b !== 13 && b !== 32)) yield last;
}

/** Stream an mbox file; memory stays bounded by maxBytes per message plus one read chunk. */
export async function* readMbox(file: string, opts: SourceOptions = {}): AsyncGenerator<SourceMessage> {
  const max = opts.maxBytes ?? DEFAULT_MAX;
  let parts: Buffer[] = [];
  let kept = 0;
  let index = 0;
  let carry: Buffer = Buffer.alloc(0);
  let atStart = true;
  const keep = (b: Buffer) => {
    if (kept >= max || b.length === 0) return;
    const slice = b.length > max - kept ? b.subarray(0, max - kept) : b;
    parts.push(Buffer.from(slice)); // copy: the stream chunk may be reused
    kept += slice.length;
  };
  const flush = function* (): Generator<SourceMessage> {
    if (kept > 0) {
      const raw = parts.length === 1 ? parts[0]! : Buffer.concat(parts, kept);
      if (raw.some((b) => b !== 10 && b !== 13 && b !== 32)) yield { file, index: index++, raw };
    }
    parts = []; kept = 0;
  };
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    if (atStart) {
      // A file starting with "From " has no leading "\n": treat it as if preceded by one.
      atStart = false;
      if (buf.subarray(0, 5).toString('latin1') === 'From ') buf = Buffer.concat([Buffer.from('\n'), buf]);
    }
    let start = 0;
    for (;;) {
      const idx = buf.indexOf(SEP, start);
      if (idx === -1) break;
      keep(buf.subarray(start, idx + 1));
      yield* flush();
      start = idx + 1;
    }
    // Keep a tail that might hold the start of a separator split across chunks.
    const tailStart = Math.max(start, buf.length - (SEP.length - 1));
    keep(buf.subarray(start, tailStart));
    carry = Buffer.from(buf.subarray(tailStart));
  }
  keep(carry);
  yield* flush();
}

/** Read one .eml file (bounded). */
export async function* readEml(file: string, opts: SourceOptions = {}): AsyncGenerator<SourceMessage> {
  const max = opts.maxBytes ?? DEFAULT_MAX;
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.alloc(Math.min(size, max));
    await fh.read(buf, 0, buf.length, 0);
    yield { file, index: 0, raw: buf };
  } finally {
    await fh.close();
  }
}

/** Iterate a Maildir (cur/ and new/; or a plain folder of message files), sorted by name. */
export async function* readMaildir(dir: string, opts: SourceOptions = {}): AsyncGenerator<SourceMessage> {
  const subdirs: string[] = [];
  for (const sub of ['cur', 'new']) {
    try { if ((await stat(path.join(dir, sub))).isDirectory()) subdirs.push(path.join(dir, sub)); } catch { /* absent */ }
  }
  if (!subdirs.length) subdirs.push(dir);
  for (const d of subdirs) {
    const names = (await readdir(d)).filter((n) => !n.startsWith('.')).sort();
    for (const n of names) {
      const p = path.join(d, n);
      try { if (!(await stat(p)).isFile()) continue; } catch { continue; }
      yield* readEml(p, opts);
    }
  }
}

async function startsWithFrom(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(5);
    const { bytesRead } = await fh.read(b, 0, 5, 0);
    return bytesRead === 5 && b.toString('latin1') === 'From ';
  } finally {
    await fh.close();
  }
}

/** Detect what each path is (Maildir/folder, mbox, .eml) and yield its messages. */
export async function* readMessages(paths: string[], opts: SourceOptions = {}): AsyncGenerator<SourceMessage> {
  for (const p of paths) {
    const st = await stat(p);
    if (st.isDirectory()) yield* readMaildir(p, opts);
    else if (await startsWithFrom(p)) yield* readMbox(p, opts);
    else yield* readEml(p, opts);
  }
}
