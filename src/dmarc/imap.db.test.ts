// DMARC report mails read from a real IMAP mailbox (Dovecot on loopback) by the running instance: from the
// bounce mailbox when dmarc.imap is unset (report mails go to the DMARC reader, the rest to the bounce
// parser), or from their own mailbox (dmarc.imap). Nothing is read twice; a hostile report is refused,
// stores nothing and does not hold up the mailbox.
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dovecotMissing, startDovecot, type DovecotServer } from '../../test/support/dovecot.js';
import { createImapClient } from '../bounces/imap/index.js';
import { dbUnavailable } from '../../test/support/db.js';
import { reportMail } from '../../test/support/dmarc-mail.js';
import { postfixDsn } from '../../test/support/dsn.js';
import { BASE_FORM, OPEN_DEFENSES, startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { makeZip, zeroBomb } from '../../test/support/zip.js';
import { ManualClock } from '../util/clock.js';
import { loadDmarcRecords } from './store.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

describe.skipIf(dbUnavailable() || dovecotMissing())('DMARC reports from IMAP', () => {
  let imap: DovecotServer;
  beforeAll(async () => {
    imap = await startDovecot();
  });
  afterAll(async () => {
    await imap?.dispose();
  });

  async function deliver(mailbox: string, ...raws: Array<string | Buffer>) {
    const c = await createImapClient({ host: imap.host, port: imap.port, user: imap.user, pass: imap.pass });
    await c.connect();
    try {
      await c.mailboxCreate(mailbox).catch(() => undefined);
      for (const r of raws) await c.append(mailbox, r);
    } finally {
      await c.logout();
    }
  }
  const reports = async (t: TestInstance) => (await t.instance.db.kysely.selectFrom('dmarc_reports').select(['report_id', 'source']).orderBy('id').execute()).map((r) => r.report_id);

  it('the bounce mailbox: report mails are stored as DMARC reports, once; a bomb is refused and passed over', async () => {
    const { data: bomb } = await zeroBomb(100 * 1024 * 1024, 'gzip', { prefix: '<feedback>', fill: 0x20 });
    await deliver(
      'Shared1',
      reportMail([{ type: 'application/gzip', name: 'g.xml.gz', data: zlib.gzipSync(fixture('google-like.xml')) }], { crlf: true }),
      postfixDsn(1, 'nobody@receiver.example', { messageId: '<not-ours@example.jp>' }),
      reportMail([{ type: 'application/gzip', name: 'bomb.xml.gz', data: bomb }], { crlf: true }),
      reportMail([{ type: 'application/zip', name: 'm.zip', data: makeZip([{ name: 'm.xml', data: fixture('microsoft-like.xml') }]) }], { crlf: true }),
    );
    const t = await startTestInstance({ clock: new ManualClock(Date.UTC(2026, 11, 4)), startWorker: false, defenses: OPEN_DEFENSES, forms: BASE_FORM, extra: `bounces: { imap: { url: "${imap.url('Shared1')}" } }\n` });
    try {
      expect(await t.instance.pollBounces()).toBe(4);
      expect(await reports(t)).toEqual(['16437218273098765432', '8f1c2a9e4b7d4e21a0c3d5b6e7f80912']);
      expect((await loadDmarcRecords(t.instance.db.kysely)).map((r) => r.sourceIp)).toEqual(['2001:db8::1f', '198.51.100.9', '192.0.2.25', '203.0.113.77']);
      expect(await t.instance.pollBounces()).toBe(0);
      expect(await t.instance.pollDmarc()).toBe(0); // no dmarc.imap
      expect(await reports(t)).toHaveLength(2);
    } finally {
      await t.close();
    }
  });

  it('dmarc.imap: its own mailbox; the bounce mailbox is then left to the bounce parser', async () => {
    await deliver('Dmarc2', reportMail([{ type: 'text/xml', name: 'y.xml', data: fixture('yahoo-like.xml') }], { crlf: true }));
    await deliver('Bounces2', reportMail([{ type: 'text/xml', name: 'min.xml', data: fixture('minimal.xml') }], { crlf: true }));
    const t = await startTestInstance({
      clock: new ManualClock(Date.UTC(2026, 11, 4)), startWorker: false, defenses: OPEN_DEFENSES, forms: BASE_FORM,
      extra: `bounces: { imap: { url: "${imap.url('Bounces2')}" } }\ndmarc: { imap: { url: "${imap.url('Dmarc2')}", every: 1h } }\n`,
    });
    try {
      expect(await t.instance.pollDmarc()).toBe(1);
      expect(await t.instance.pollBounces()).toBe(1);
      expect(await reports(t)).toEqual(['1764892800.428193']);
      await deliver('Dmarc2', reportMail([{ type: 'text/xml', name: 'min.xml', data: fixture('minimal.xml') }], { crlf: true }));
      expect(await t.instance.pollDmarc()).toBe(1);
      expect(await reports(t)).toEqual(['1764892800.428193', 'r-1']);
    } finally {
      await t.close();
    }
  });
});
