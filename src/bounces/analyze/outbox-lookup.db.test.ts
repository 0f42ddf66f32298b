// `analyze --config`: the configured database's outbox decides which bounces Formwarden sent, by the
// returned Message-ID or by a signed VERP address, and with which form, submission and kind of mail.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { enqueue, outboxRow } from '../../mail/outbox.js';
import { ensureSecret } from '../../store/secrets.js';
import { dbUnavailable, useMigratedDatabase } from '../../../test/support/db.js';
import { postfixDsn } from '../../../test/support/dsn.js';
import { rfc3464Dsn } from '../../../test/support/remote-mta.js';
import { testConfigYaml } from '../../../test/support/instance.js';
import { newId } from '../../util/id.js';
import { analyze, type AnalyzeMessage } from './index.js';
import { outboxLookup, storedVerp } from './outbox-lookup.js';

async function* messages(raws: string[]): AsyncGenerator<AnalyzeMessage> {
  let i = 0;
  for (const r of raws) yield { file: 'test', index: i++, raw: Buffer.from(r) };
}

describe.skipIf(dbUnavailable())('analyze with the outbox of the configured database', () => {
  const fresh = useMigratedDatabase();

  it('finds our mails by Message-ID and by VERP address; a forged Formwarden Message-ID is not ours', async () => {
    const config = parseConfigText(testConfigYaml({ dbUrl: fresh.tdb.url, extra: 'bounces: { verp: { domain: bounce.example.jp, prefix: fwb } }' }), 'test');
    expect(await storedVerp(fresh.db.kysely, config)).toBeNull();
    await ensureSecret(fresh.db, 'verpKey');
    const verp = (await storedVerp(fresh.db.kysely, config))!;
    const now = Date.UTC(2026, 10, 20);
    const notify = outboxRow({ kind: 'notify', submissionId: 's_1', formId: 'contact', to: 'owner@example.jp', replyTo: null, subject: 's', body: 'b' }, 'info@example.jp', now);
    const reply = outboxRow({ kind: 'autoreply', submissionId: 's_1', formId: 'contact', to: 'visitor@receiver.example', replyTo: null, subject: 's', body: 'b' }, 'info@example.jp', now);
    await enqueue(fresh.db.kysely, [notify, reply]);

    const raws = [
      // The owner's notification bounced, found by its Message-ID (no X-Formwarden-Kind header in the DSN).
      postfixDsn(1, 'owner@example.jp', { messageId: notify.message_id }),
      // The auto-reply, by its VERP address alone: the DSN returns no headers of the original.
      rfc3464Dsn({ rcpt: 'visitor@receiver.example', envelopeFrom: verp.address(reply.id)!, n: 2 }),
      // Formwarden's Message-ID form, but no such mail in the outbox.
      postfixDsn(3, 'someone@receiver.example', { messageId: `<${newId('m', now)}@example.jp>` }),
    ];
    const report = await analyze(messages(raws), { ownerDomains: ['example.jp'], lookup: outboxLookup(fresh.db.kysely, verp), bounceDomain: 'bounce.example.jp', bouncePrefix: 'fwb' });
    expect(report.totals.bounces).toBe(3);
    expect(report.byOrigin.ours).toBe(2);
    expect(report.findings.map((f) => f.id)).toContain('notify-bouncing');

    // Without the outbox, the VERP-only bounce says nothing about the mail, and the forged id counts as ours.
    const blind = await analyze(messages(raws), { ownerDomains: ['example.jp'] });
    expect(blind.byOrigin.ours).toBe(2);
    expect(blind.byOrigin.unknown).toBe(1);

    // A tampered VERP token is not ours.
    const [local, domain] = verp.address(reply.id)!.split('@') as [string, string];
    const tampered = `${local.slice(0, -1)}${local.endsWith('a') ? 'b' : 'a'}@${domain}`;
    const forged = await analyze(messages([rfc3464Dsn({ rcpt: 'visitor@receiver.example', envelopeFrom: tampered, n: 4 })]), {
      ownerDomains: ['example.jp'],
      lookup: outboxLookup(fresh.db.kysely, verp),
      bounceDomain: 'bounce.example.jp',
      bouncePrefix: 'fwb',
    });
    expect(forged.byOrigin.ours).toBe(0);
  });
});
