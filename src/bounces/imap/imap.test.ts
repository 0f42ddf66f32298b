import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postfixDsn } from '../../../test/support/dsn.js';
import { waitFor } from '../../../test/support/wait.js';
import { parseBounce } from '../parse/index.js';
import { dovecotMissing, startDovecot, type DovecotServer } from '../../../test/support/dovecot.js';
import { createImapClient, HandlerError, ImapBounceSource, JsonFileCursorStore, MemoryCursorStore, parseImapUrl, readImapUrl, redactImapUrl, type ImapMessage } from './index.js';

const dsn = (n: number, rcpt?: string) => postfixDsn(n, rcpt);

describe.skipIf(dovecotMissing())('ImapBounceSource against a real Dovecot', () => {
  let server: DovecotServer;
  let tmp: string;
  beforeAll(async () => {
    server = await startDovecot();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'fw-imap-cursor-'));
  });
  afterAll(async () => {
    await server?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function append(mailbox: string, ...raws: string[]): Promise<void> {
    const c = await createImapClient({ host: server.host, port: server.port, user: server.user, pass: server.pass });
    await c.connect();
    try {
      if (mailbox !== 'INBOX') { try { await c.mailboxCreate(mailbox); } catch { /* exists */ } }
      for (const r of raws) await c.append(mailbox, r);
    } finally {
      await c.logout();
    }
  }
  const base = () => ({ host: server.host, port: server.port, user: server.user, pass: server.pass, backoffMs: 50, maxBackoffMs: 400 });

  it('reads each bounce once, survives a restart through the cursor file and picks up later mail', async () => {
    await append('Bounces1', dsn(1), dsn(2), dsn(3));
    const file = path.join(tmp, 'cursor1.json');
    const src = new ImapBounceSource({ ...base(), mailbox: 'Bounces1', store: new JsonFileCursorStore(file) });
    const first = await src.pollOnce();
    expect(first.count).toBe(3);
    expect(first.messages.map((m) => parseBounce(m.raw).bounces[0]?.recipient)).toEqual(['user1@receiver.example', 'user2@receiver.example', 'user3@receiver.example']);
    expect(first.messages.map((m) => m.uid)).toEqual([1, 2, 3]);
    expect((await src.pollOnce()).count).toBe(0);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({ mailbox: 'Bounces1', lastUid: 3 });
    expect(saved.uidValidity).toMatch(/^\d+$/);

    // A new instance (as after a restart) with the same store reads nothing old ...
    const again = new ImapBounceSource({ ...base(), mailbox: 'Bounces1', store: new JsonFileCursorStore(file) });
    expect((await again.pollOnce()).count).toBe(0);
    // ... and only what arrived later.
    await append('Bounces1', dsn(4), dsn(5));
    const got: ImapMessage[] = [];
    const r = await again.pollOnce((m) => { got.push(m); });
    expect(r.count).toBe(2);
    expect(got.map((m) => m.uid)).toEqual([4, 5]);
    expect(r.messages).toEqual([]);
    expect(r.cursor.lastUid).toBe(5);
  });

  it('keeps the cursor before a message whose handler failed, and does not retry handler errors', async () => {
    await append('Bounces2', dsn(1), dsn(2), dsn(3));
    const store = new MemoryCursorStore();
    const errors: Array<{ willRetry: boolean }> = [];
    const src = new ImapBounceSource({ ...base(), mailbox: 'Bounces2', store, onError: (_e, i) => errors.push(i) });
    await expect(src.pollOnce((m) => { if (m.uid === 2) throw new Error('database down'); })).rejects.toBeInstanceOf(HandlerError);
    expect(errors).toEqual([{ attempt: 1, willRetry: false }]);
    expect(store.cursor?.lastUid).toBe(1);
    const r = await src.pollOnce();
    expect(r.messages.map((m) => m.uid)).toEqual([2, 3]);
  });

  it('reads the mailbox again from the start when its UIDVALIDITY changes', async () => {
    await append('Bounces3', dsn(1));
    const store = new MemoryCursorStore();
    const src = new ImapBounceSource({ ...base(), mailbox: 'Bounces3', store });
    expect((await src.pollOnce()).count).toBe(1);
    const c = await createImapClient({ host: server.host, port: server.port, user: server.user, pass: server.pass });
    await c.connect();
    await c.mailboxDelete('Bounces3');
    await c.logout();
    await append('Bounces3', dsn(7), dsn(8));
    const r = await src.pollOnce();
    expect(r.uidValidityChanged).toBe(true);
    expect(r.count).toBe(2);
  });

  it('retries a broken connection with backoff and continues once the server is back', async () => {
    await append('Bounces4', dsn(1));
    const store = new MemoryCursorStore();
    const failures: Array<{ attempt: number; willRetry: boolean }> = [];
    let src = new ImapBounceSource({ ...base(), mailbox: 'Bounces4', store, attempts: 3, onError: (_e, i) => failures.push(i) });
    expect((await src.pollOnce()).count).toBe(1);

    await server.stop();
    // Bounded: every attempt fails, the poll gives up after `attempts` and says so.
    await expect(src.pollOnce()).rejects.toThrow();
    expect(failures).toEqual([{ attempt: 1, willRetry: true }, { attempt: 2, willRetry: true }, { attempt: 3, willRetry: false }]);

    // The server comes back while a poll is retrying: that poll succeeds and carries on from the cursor.
    await server.start();
    await append('Bounces4', dsn(2));
    await server.stop();
    failures.length = 0;
    src = new ImapBounceSource({
      ...base(), mailbox: 'Bounces4', store, attempts: 40,
      onError: (_e, i) => { failures.push(i); if (i.attempt === 2) void server.start(); },
    });
    const r = await src.pollOnce();
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(r.attempts).toBe(failures.length + 1);
    expect(r.messages.map((m) => m.uid)).toEqual([2]);
    expect(store.cursor?.lastUid).toBe(2);
  });

  it('start() polls until stop(); failures in between are reported and polling goes on', async () => {
    await append('Bounces5', dsn(1));
    const seen: number[] = [];
    const errors: Error[] = [];
    const src = new ImapBounceSource({ ...base(), mailbox: 'Bounces5', store: new MemoryCursorStore(), attempts: 1 });
    src.start(50, (m) => { seen.push(m.uid); }, (e) => errors.push(e));
    await waitFor(() => seen.length === 1, 'the first message');
    await server.stop();
    await waitFor(() => errors.length >= 1, 'a failed poll');
    await server.start();
    await append('Bounces5', dsn(2));
    await waitFor(() => seen.length === 2, 'the message appended later');
    await src.stop();
    expect(seen).toEqual([1, 2]);
  });

  it('readImapUrl() iterates a folder for `formwarden analyze imap://...`', async () => {
    await append('Bounces6', dsn(1), dsn(2, 'x@y.example'));
    const got = [];
    for await (const m of readImapUrl(server.url('Bounces6'))) got.push(m);
    expect(got.map((m) => m.index)).toEqual([0, 1]);
    expect(got[1]!.file).toBe(`imap://bounces:***@127.0.0.1:${server.port}/Bounces6;UID=2`);
    expect(parseBounce(got[1]!.raw).bounces[0]?.recipient).toBe('x@y.example');
    await expect(async () => { for await (const _ of readImapUrl(server.url('Bounces6').replace('test-pass-1', 'wrong'))) { /* none */ } }).rejects.toThrow();
  });
});

describe('IMAP URLs', () => {
  it('parses and redacts', () => {
    expect(parseImapUrl('imaps://me%40x.example:p%3Ass@mail.x.example/Bounces%2F2025?insecure=1')).toEqual({
      host: 'mail.x.example', port: 993, secure: true, user: 'me@x.example', pass: 'p:ss', mailbox: 'Bounces/2025', insecureTls: true,
    });
    expect(parseImapUrl('imap://u:p@h').mailbox).toBe('INBOX');
    expect(parseImapUrl('imap://u:p@h').port).toBe(143);
    expect(redactImapUrl('imap://u:secret@h:1/INBOX')).toBe('imap://u:***@h:1/INBOX');
    expect(() => parseImapUrl('imap://h/INBOX')).toThrow(/no user/);
  });
});
