// Message sources: mbox (streamed, bounded per message), Maildir (cur/ + new/), single .eml.
//
// Files are read with synchronous calls, one open/fstat/read/close per message file: measured on 5,304 small
// files (a warm page cache, 2 cores), 0.13 s against 0.25-0.6 s for fs.promises/callbacks with 1-16 reads in
// flight and ~1.3 s for the awaited FileHandle calls this replaced; each await was a thread-pool round trip
// and the main thread sat idle in between. A read blocks the event loop for microseconds (bounded by maxBytes).
// Sources are read by the CLI (`bounces parse`, `analyze`); the server parses what SMTP and IMAP deliver.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface SourceMessage { file: string; index: number; raw: Buffer }
export interface SourceOptions { /** bytes kept per message at most (default 10 MB); the rest is skipped */ maxBytes?: number }

const DEFAULT_MAX = 10 * 1024 * 1024;
const SEP = Buffer.from('\nFrom ');
/** mbox read size: large enough for few syscalls, small enough that a chunk held by a message costs little */
const CHUNK = 256 * 1024;
/** O_NONBLOCK: opening a FIFO or a device left in a Maildir must not hang; no effect on regular files */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

const blank = (b: Buffer) => {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 10 && c !== 13 && c !== 32) return false;
  }
  return true;
};

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
    if (!blank(msg)) yield msg;
    start = idx + 1;
  }
  const last = buf.subarray(start);
  if (last.length && !blank(last)) yield last;
}

/**
 * Stream an mbox file; memory stays bounded by maxBytes per message plus one read chunk. Every chunk is a
 * fresh buffer, so a message that lies within one chunk is a view of it (no copy); one that spans chunks is
 * joined once.
 */
export async function* readMbox(file: string, opts: SourceOptions = {}): AsyncGenerator<SourceMessage> {
  const max = opts.maxBytes ?? DEFAULT_MAX;
  const fd = openSync(file, OPEN_FLAGS);
  try {
    let parts: Buffer[] = [];
    let kept = 0;
    let index = 0;
    let carry: Buffer | null = null; // the last SEP.length-1 bytes of the previous chunk, not yet assigned
    const keep = (b: Buffer) => {
      if (kept >= max || b.length === 0) return;
      const slice = b.length > max - kept ? b.subarray(0, max - kept) : b;
      parts.push(slice);
      kept += slice.length;
    };
    const take = (): SourceMessage | null => {
      let m: SourceMessage | null = null;
      if (kept > 0) {
        const raw = parts.length === 1 ? parts[0]! : Buffer.concat(parts, kept);
        if (!blank(raw)) m = { file, index: index++, raw };
      }
      parts = [];
      kept = 0;
      return m;
    };
    for (;;) {
      // A separator may be split across chunks: the few carried bytes go first, then the read.
      const c = carry?.length ?? 0;
      const chunk = Buffer.allocUnsafeSlow(c + CHUNK);
      if (carry) carry.copy(chunk, 0);
      const n = readSync(fd, chunk, c, CHUNK, null);
      if (n === 0) break;
      const buf: Buffer = chunk.subarray(0, c + n);
      carry = null;
      let start = 0;
      for (;;) {
        const idx = buf.indexOf(SEP, start);
        if (idx === -1) break;
        keep(buf.subarray(start, idx + 1));
        const m = take();
        if (m) yield m;
        start = idx + 1;
      }
      const tailStart = Math.max(start, buf.length - (SEP.length - 1));
      keep(buf.subarray(start, tailStart));
      if (tailStart < buf.length) carry = Buffer.from(buf.subarray(tailStart));
    }
    if (carry) keep(carry);
    const m = take();
    if (m) yield m;
  } finally {
    closeSync(fd);
  }
}

/** The first `max` bytes of a regular file, or null when the path is not one (a directory, a FIFO). */
function readFileBounded(file: string, max: number): Buffer | null {
  const fd = openSync(file, OPEN_FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    const want = Math.min(st.size, max);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = readSync(fd, buf, got, want - got, got);
      if (n === 0) break;
      got += n;
    }
    return got < want ? buf.subarray(0, got) : buf;
  } finally {
    closeSync(fd);
  }
}

/** Read one .eml file (bounded). */
export async function* readEml(file: string, opts: SourceOptions = {}): AsyncGenerator<SourceMessage> {
  const raw = readFileBounded(file, opts.maxBytes ?? DEFAULT_MAX);
  if (raw === null) throw new Error('not a regular file');
  yield { file, index: 0, raw };
}

/** Iterate a Maildir (cur/ and new/; or a plain folder of message files), sorted by name. */
export async function* readMaildir(dir: string, opts: SourceOptions = {}): AsyncGenerator<SourceMessage> {
  const max = opts.maxBytes ?? DEFAULT_MAX;
  const subdirs: string[] = [];
  for (const sub of ['cur', 'new']) {
    try { if ((await stat(path.join(dir, sub))).isDirectory()) subdirs.push(path.join(dir, sub)); } catch { /* absent */ }
  }
  if (!subdirs.length) subdirs.push(dir);
  for (const d of subdirs) {
    // The entry's type spares a stat per file; anything else is checked with fstat after opening it.
    const entries = (await readdir(d, { withFileTypes: true })).filter((e) => !e.name.startsWith('.') && !e.isDirectory());
    const names = entries.map((e) => e.name).sort();
    for (const n of names) {
      const p = path.join(d, n);
      let raw: Buffer | null;
      try {
        raw = readFileBounded(p, max);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // moved away (cur/ <-> new/) since the listing
        throw e;
      }
      if (raw) yield { file: p, index: 0, raw };
    }
  }
}

function startsWithFrom(file: string): boolean {
  const fd = openSync(file, OPEN_FLAGS);
  try {
    const b = Buffer.alloc(5);
    return readSync(fd, b, 0, 5, 0) === 5 && b.toString('latin1') === 'From ';
  } finally {
    closeSync(fd);
  }
}

/** Detect what each path is (Maildir/folder, mbox, .eml) and yield its messages. */
export async function* readMessages(paths: string[], opts: SourceOptions = {}): AsyncGenerator<SourceMessage> {
  for (const p of paths) {
    const st = await stat(p);
    if (st.isDirectory()) yield* readMaildir(p, opts);
    else if (!st.isFile()) throw new Error('not a regular file, mbox or Maildir');
    else if (startsWithFrom(p)) yield* readMbox(p, opts);
    else yield* readEml(p, opts);
  }
}
