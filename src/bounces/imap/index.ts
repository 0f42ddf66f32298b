// IMAP bounce source: reads the bounce mailbox with imapflow, newest UIDs only, and remembers where it
// stopped (UIDVALIDITY + last UID) through a small cursor port, so that nothing is read twice and a
// restart continues where the last run stopped. Connection failures are retried with backoff.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImapFlow } from 'imapflow';

export interface ImapCursor {
  mailbox: string;
  /** UIDVALIDITY of the mailbox as a decimal string (it is a 32-bit unsigned number; kept as text for JSON/DB) */
  uidValidity: string;
  /** highest UID already handed over */
  lastUid: number;
}

/** Where the cursor lives: a JSON file for the CLI, a database row for the server. */
export interface CursorStore {
  load(): Promise<ImapCursor | null>;
  save(c: ImapCursor): Promise<void>;
}

export class MemoryCursorStore implements CursorStore {
  constructor(public cursor: ImapCursor | null = null) {}
  async load() { return this.cursor ? { ...this.cursor } : null; }
  async save(c: ImapCursor) { this.cursor = { ...c }; }
}

/** The cursor as a small JSON file, written atomically (temp file + rename). */
export class JsonFileCursorStore implements CursorStore {
  constructor(readonly file: string) {}
  async load(): Promise<ImapCursor | null> {
    let text: string;
    try { text = await readFile(this.file, 'utf8'); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const v = JSON.parse(text) as Partial<ImapCursor>;
    if (typeof v.mailbox !== 'string' || typeof v.uidValidity !== 'string' || typeof v.lastUid !== 'number') {
      throw new Error(`${this.file}: not an IMAP cursor`);
    }
    return { mailbox: v.mailbox, uidValidity: v.uidValidity, lastUid: v.lastUid };
  }
  async save(c: ImapCursor): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(c) + '\n', { mode: 0o600 });
    await rename(tmp, this.file);
  }
}

export interface ImapMessage { mailbox: string; uidValidity: string; uid: number; raw: Buffer; size: number; truncated: boolean }

export interface ImapConnectOptions {
  host: string;
  port?: number;
  /** implicit TLS (imaps, port 993); otherwise STARTTLS when offered */
  secure?: boolean;
  user: string;
  pass: string;
  mailbox?: string;
  /** accept self-signed certificates (default false) */
  insecureTls?: boolean;
  /** ms for the TCP/TLS connection and the greeting (default 15 s) */
  connectTimeoutMs?: number;
  /** bytes kept per message at most (default 10 MB) */
  maxBytes?: number;
  /** UIDs fetched per FETCH command (default 50) */
  batchSize?: number;
}

export interface ImapSourceOptions extends ImapConnectOptions {
  store: CursorStore;
  /** connection attempts per poll (default 4) */
  attempts?: number;
  /** first backoff delay in ms, doubled per attempt (default 500) */
  backoffMs?: number;
  /** backoff ceiling in ms (default 15 s) */
  maxBackoffMs?: number;
  /** told about every failed attempt, also the ones that are retried */
  onError?(err: Error, info: { attempt: number; willRetry: boolean }): void;
}

export interface PollResult {
  /** messages handed over in this poll */
  count: number;
  /** the messages themselves when pollOnce() was called without a handler */
  messages: ImapMessage[];
  cursor: ImapCursor;
  /** attempts this poll needed (1 = no failure) */
  attempts: number;
  /** UIDVALIDITY changed: the mailbox was re-created and is read from its start */
  uidValidityChanged: boolean;
}

/** A message handler failed: not a connection problem, so not retried; the cursor stays before that message. */
export class HandlerError extends Error {
  constructor(readonly uid: number, readonly handlerError: unknown) {
    super(`handler failed for UID ${uid}: ${(handlerError as Error)?.message ?? String(handlerError)}`);
    this.name = 'HandlerError';
  }
}

const DEFAULT_MAX = 10 * 1024 * 1024;
const BATCH_BYTES = 16 * 1024 * 1024;

/** imapflow is loaded on first use: an instance without an IMAP mailbox never pays for it. */
export async function createImapClient(o: ImapConnectOptions): Promise<ImapFlow> {
  const { ImapFlow } = await import('imapflow');
  const secure = o.secure ?? false;
  const client = new ImapFlow({
    host: o.host,
    port: o.port ?? (secure ? 993 : 143),
    secure,
    auth: { user: o.user, pass: o.pass },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: o.connectTimeoutMs ?? 15_000,
    greetingTimeout: o.connectTimeoutMs ?? 15_000,
    socketTimeout: 120_000,
    ...(o.insecureTls ? { tls: { rejectUnauthorized: false } } : {}),
  });
  // imapflow emits 'error' on socket failures; without a listener that would crash the process.
  client.on('error', () => { /* surfaced through the failing command */ });
  return client;
}

async function closeQuietly(client: ImapFlow): Promise<void> {
  try {
    if (client.usable) await client.logout();
  } catch { /* already gone */ }
  try { client.close(); } catch { /* already closed */ }
}

/**
 * Fetch the messages with UID > afterUid from an open mailbox, in batches, one message at a time.
 * (`n:*` returns the last message even when n is beyond it, so the UIDs are filtered.)
 */
async function* fetchNewer(client: ImapFlow, afterUid: number, o: ImapConnectOptions): AsyncGenerator<{ uid: number; raw: Buffer; size: number }> {
  const found = await client.search({ uid: `${afterUid + 1}:*` }, { uid: true });
  const uids = (found || []).filter((u) => u > afterUid).sort((a, b) => a - b);
  const batch = o.batchSize ?? 50;
  const max = o.maxBytes ?? DEFAULT_MAX;
  // Group the UIDs so that one FETCH holds at most `batch` messages and about BATCH_BYTES.
  const sizes = new Map<number, number>();
  for (let i = 0; i < uids.length; i += 1000) {
    for await (const m of client.fetch(uids.slice(i, i + 1000).join(','), { uid: true, size: true }, { uid: true })) sizes.set(m.uid, m.size ?? 0);
  }
  const groups: number[][] = [];
  let cur: number[] = [];
  let bytes = 0;
  for (const u of uids) {
    if (!sizes.has(u)) continue; // expunged meanwhile
    const b = Math.min(max, sizes.get(u) ?? 0);
    if (cur.length && (cur.length >= batch || bytes + b > BATCH_BYTES)) { groups.push(cur); cur = []; bytes = 0; }
    cur.push(u);
    bytes += b;
  }
  if (cur.length) groups.push(cur);
  for (const chunk of groups) {
    const got: Array<{ uid: number; raw: Buffer; size: number }> = [];
    for await (const m of client.fetch(chunk.join(','), { uid: true, source: { maxLength: max } }, { uid: true })) {
      got.push({ uid: m.uid, raw: m.source ?? Buffer.alloc(0), size: sizes.get(m.uid) ?? m.source?.length ?? 0 });
    }
    // Hand over in UID order, after the FETCH completed (no command may run inside a FETCH).
    got.sort((a, b) => a.uid - b.uid);
    for (const m of got) yield m;
  }
}

export class ImapBounceSource {
  private readonly mailbox: string;
  private running: Promise<void> | null = null;
  private stopped = true;
  private wake: (() => void) | null = null;
  private inPoll: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ImapSourceOptions) {
    this.mailbox = opts.mailbox ?? 'INBOX';
  }

  /**
   * Read the messages that arrived since the cursor, once. With a handler, each message is handed
   * to it and the cursor is saved after it returns; without one they are returned in the result.
   * Connection failures are retried (bounded by `attempts`); the last one is thrown.
   */
  pollOnce(onMessage?: (m: ImapMessage) => unknown | Promise<unknown>): Promise<PollResult> {
    const run = this.inPoll.then(() => this.poll(onMessage), () => this.poll(onMessage));
    this.inPoll = run.catch(() => undefined);
    return run;
  }

  private async poll(onMessage?: (m: ImapMessage) => unknown | Promise<unknown>): Promise<PollResult> {
    const attempts = Math.max(1, this.opts.attempts ?? 4);
    const messages: ImapMessage[] = [];
    let count = 0;
    let changed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.attempt(async (m) => {
          if (onMessage) await onMessage(m); else messages.push(m);
          count++;
        });
        changed ||= r.changed;
        return { count, messages, cursor: r.cursor, attempts: attempt, uidValidityChanged: changed };
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        const willRetry = !(err instanceof HandlerError) && attempt < attempts && !this.stoppedDuringStart();
        this.opts.onError?.(err, { attempt, willRetry });
        if (!willRetry) throw err;
        const base = this.opts.backoffMs ?? 500;
        await this.sleep(Math.min(this.opts.maxBackoffMs ?? 15_000, base * 2 ** (attempt - 1)));
      }
    }
  }

  private stoppedDuringStart(): boolean {
    return this.running !== null && this.stopped;
  }

  private async attempt(deliver: (m: ImapMessage) => Promise<void>): Promise<{ cursor: ImapCursor; changed: boolean }> {
    const client = await createImapClient(this.opts);
    try {
      await client.connect();
      const box = await client.mailboxOpen(this.mailbox, { readOnly: true });
      const uidValidity = String(box.uidValidity);
      const saved = await this.opts.store.load();
      let cursor: ImapCursor = saved && saved.mailbox === this.mailbox ? saved : { mailbox: this.mailbox, uidValidity, lastUid: 0 };
      let changed = false;
      if (cursor.uidValidity !== uidValidity) {
        // The mailbox was re-created: old UIDs mean nothing any more, read it from the start.
        changed = true;
        cursor = { mailbox: this.mailbox, uidValidity, lastUid: 0 };
        await this.opts.store.save(cursor);
      }
      for await (const m of fetchNewer(client, cursor.lastUid, this.opts)) {
        const msg: ImapMessage = { mailbox: this.mailbox, uidValidity, uid: m.uid, raw: m.raw, size: m.size, truncated: m.size > m.raw.length };
        try { await deliver(msg); } catch (e) { throw new HandlerError(m.uid, e); }
        cursor = { mailbox: this.mailbox, uidValidity, lastUid: m.uid };
        await this.opts.store.save(cursor);
      }
      if (!saved) await this.opts.store.save(cursor);
      return { cursor, changed };
    } finally {
      await closeQuietly(client);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = null; resolve(); };
    });
  }

  /** Poll now and then every intervalMs until stop(); failures go to onError and the next poll tries again. */
  start(intervalMs: number, onMessage: (m: ImapMessage) => unknown | Promise<unknown>, onError?: (e: Error) => void): void {
    if (this.running) return;
    this.stopped = false;
    this.running = (async () => {
      while (!this.stopped) {
        try { await this.pollOnce(onMessage); } catch (e) { onError?.(e instanceof Error ? e : new Error(String(e))); }
        if (this.stopped) break;
        await this.sleep(intervalMs);
      }
    })();
  }

  /** Stop polling; resolves when the current poll (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const r = this.running;
    this.running = null;
    await r;
  }
}

export function isImapUrl(s: string): boolean {
  return /^imaps?:\/\//i.test(s);
}

export function redactImapUrl(s: string): string {
  return s.replace(/^(imaps?:\/\/)([^@/]*)@/i, (_, p: string, cred: string) => `${p}${cred.split(':')[0]}:***@`);
}

/**
 * imap://user:pass@host:port/MAILBOX or imaps://... (user and password percent-encoded).
 * Query: ?insecure=1 accepts a self-signed certificate.
 */
export function parseImapUrl(s: string): ImapConnectOptions & { mailbox: string } {
  const u = new URL(s);
  const secure = u.protocol === 'imaps:';
  if (u.protocol !== 'imap:' && !secure) throw new Error(`not an IMAP URL: ${redactImapUrl(s)}`);
  if (!u.username) throw new Error(`no user name in ${redactImapUrl(s)}`);
  const mailbox = decodeURIComponent(u.pathname.replace(/^\//, '').replace(/;.*$/, '')) || 'INBOX';
  const o: ImapConnectOptions & { mailbox: string } = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : secure ? 993 : 143,
    secure,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    mailbox,
  };
  if (/^(?:1|true|yes)$/i.test(u.searchParams.get('insecure') ?? '')) o.insecureTls = true;
  return o;
}

/** Every message of an IMAP folder, oldest first, read-only (for `formwarden analyze imap://...`). */
export async function* readImapUrl(url: string, opts: { maxBytes?: number; batchSize?: number } = {}): AsyncGenerator<{ file: string; index: number; raw: Buffer }> {
  const o = { ...parseImapUrl(url), ...opts };
  const client = await createImapClient(o);
  const name = redactImapUrl(url);
  try {
    await client.connect();
    await client.mailboxOpen(o.mailbox, { readOnly: true });
    let index = 0;
    for await (const m of fetchNewer(client, 0, o)) yield { file: `${name};UID=${m.uid}`, index: index++, raw: m.raw };
  } finally {
    await closeQuietly(client);
  }
}
