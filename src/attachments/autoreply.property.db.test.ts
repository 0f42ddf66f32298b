// The promise: a visitor's files never reach the auto-reply. Generated forms with file fields, auto-reply
// templates and echo settings: a template that names a file field is refused at load (E_AUTOREPLY_FILE_FIELD);
// every other one is accepted, delivered through the real outbox worker, and the auto-reply as built (raw
// and parsed) carries none of the files' bytes, names, hashes, ids or any trace of an attachment, while
// the owner's notification carries every file.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../config/load.js';
import { captureTransport } from '../mail/transport.js';
import { buildMessage } from '../mail/message.js';
import { OutboxWorker } from '../mail/worker.js';
import { acceptSubmission } from '../submissions/accept.js';
import { dbUnavailable, useMigratedDatabase } from '../../test/support/db.js';
import { systemClock } from '../util/clock.js';
import { UploadedFile } from './uploaded.js';
import { files } from './test-files.js';

// Visitor text never uses the letters of the markers below, so finding a marker means a file leaked.
const visitorText = fc.string({ unit: fc.constantFrom(...'あいうえお abcde12345.,'.split('')), minLength: 1, maxLength: 40 });
const fileFieldNames = ['photo', 'resume', 'files', 'document'];

type FileCase = { family: 'png' | 'jpeg' | 'pdf' | 'text'; size: number; name: string };
const fileCase: fc.Arbitrary<FileCase> = fc.record({
  family: fc.constantFrom('png', 'jpeg', 'pdf', 'text'),
  size: fc.integer({ min: 1, max: 3000 }),
  name: fc.stringMatching(/^[0-9a-f]{8}$/).map((hex) => `fwmark${hex}`),
});

const piece = (fileFields: string[], echoFields: string[]) =>
  fc.oneof(
    fc.constantFrom('Thank you.', 'ありがとうございます。', '\n', ' '),
    fc.constantFrom('{{receipt_id}}', '{{site_name}}', '{{submitted_at}}', '{{form_title}}'),
    ...(echoFields.length ? [fc.constantFrom(...echoFields.map((n) => `{{${n}}}`))] : []),
    fc.constantFrom(...fileFields.map((n) => `{{${n}}}`)),
  );

const scenario = fc
  .record({ fileFields: fc.subarray(fileFieldNames, { minLength: 1, maxLength: 2 }), echo: fc.constantFrom('none', 'sanitized') as fc.Arbitrary<'none' | 'sanitized'> })
  .chain(({ fileFields, echo }) =>
    fc.record({
      fileFields: fc.constant(fileFields),
      echo: fc.constant(echo),
      subject: fc.array(piece(fileFields, []), { minLength: 1, maxLength: 4 }).map((p) => p.join('').replace(/\n/g, ' ') || 'Thanks'),
      body: fc.array(piece(fileFields, echo === 'sanitized' ? ['name', 'message'] : []), { minLength: 1, maxLength: 6 }).map((p) => p.join('')),
      uploads: fc.array(fc.tuple(fc.constantFrom(...fileFields), fileCase), { minLength: 1, maxLength: 3 }),
      // The name field is required: a blank one is (rightly) invalid, which is not what this property is about.
      name: visitorText.filter((v) => v.trim() !== ''),
      message: visitorText,
    }),
  );

const bytesOf = (f: FileCase): Buffer => (f.family === 'text' ? Buffer.from(`fwdata ${'xyzq'.repeat(Math.ceil(f.size / 4)).slice(0, f.size)}\n`) : files[f.family](f.size));

describe.skipIf(dbUnavailable())('attachments never in the auto-reply (property)', () => {
  const fresh = useMigratedDatabase();

  it('buildMessage refuses to attach files to anything but the owner notification', async () => {
    const base = { id: 'm1', from: 'Shop <info@example.jp>', to: 'taro@example.jp', replyTo: null, subject: 's', body: 'b', messageId: '<m1@example.jp>', date: new Date(0) };
    const attachments = [{ filename: 'a.png', contentType: 'image/png', content: files.png() }];
    for (const kind of ['autoreply', 'alert', 'digest', 'webhook']) await expect(buildMessage({ ...base, kind, attachments })).rejects.toThrow(/E_ATTACH_NOT_OWNER/);
    expect((await buildMessage({ ...base, kind: 'notify', attachments })).toString()).toContain('Content-Disposition: attachment; filename=a.png');
  });

  it('property: a template naming a file field is refused; otherwise the auto-reply carries no trace of any file', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        n++;
        const fields = [
          { name: 'name', type: 'text', required: true },
          { name: 'email', type: 'email', required: true },
          { name: 'message', type: 'textarea' },
          ...s.fileFields.map((name) => ({ name, type: 'file', accept: ['image', 'pdf', 'text'], maxFiles: 3 })),
        ];
        const yaml = JSON.stringify({
          siteName: 'Example Shop',
          database: { url: fresh.tdb.url },
          mail: { from: 'Example Shop <info@example.jp>' },
          forms: [{ id: 'apply', title: 'Apply', fields, notify: { to: ['owner@example.jp'] }, autoreply: { to: 'email', delay: '0s', echo: s.echo, subject: s.subject, body: s.body } }],
        });
        const namesFile = s.fileFields.some((f) => `${s.subject}\n${s.body}`.includes(`{{${f}}}`));
        if (namesFile) {
          expect(() => parseConfigText(yaml, 'property')).toThrow(ConfigError);
          try {
            parseConfigText(yaml, 'property');
          } catch (e) {
            expect(String((e as Error).message)).toMatch(/uses the file field/);
          }
          return;
        }
        const config = parseConfigText(yaml, 'property');
        const form = config.forms[0]!;
        const raw: Record<string, unknown> = { name: s.name, email: `visitor${n}@example.jp`, message: s.message };
        for (const [field, f] of s.uploads) raw[field] = [...((raw[field] as UploadedFile[] | undefined) ?? []), new UploadedFile(field, `${f.name}.${f.family}`, bytesOf(f))];
        await fresh.db.kysely.deleteFrom('relay_charges').execute();
        const result = await acceptSubmission({ config, db: fresh.db, clock: systemClock, fromAddress: 'info@example.jp' }, { form, raw, ip: '192.0.2.1', userAgent: 'test', lang: 'ja' });
        expect(result.kind).toBe('accepted');
        if (result.kind !== 'accepted') return;
        expect(result.autoreply).toBe('queued');
        const worker = new OutboxWorker(fresh.db.kysely, captureTransport, systemClock, { fromHeader: config.mail.from, envelopeFrom: () => 'info@example.jp', retryScheduleMs: [1000] });
        await worker.drain();
        const rows = await fresh.db.kysely.selectFrom('outbox').select(['kind', 'raw', 'state']).where('submission_id', '=', result.id).execute();
        const ids = (await fresh.db.kysely.selectFrom('attachments').select('id').where('submission_id', '=', result.id).execute()).map((r) => r.id);
        expect(ids).toHaveLength(s.uploads.length);
        const notify = rows.find((r) => r.kind === 'notify')!;
        const reply = rows.find((r) => r.kind === 'autoreply')!;
        expect(notify.state).toBe('sent');
        expect(reply.state).toBe('sent');
        expect((await simpleParser(notify.raw!)).attachments).toHaveLength(s.uploads.length);

        const replyRaw = Buffer.from(reply.raw!, 'utf8');
        const replyText = reply.raw!;
        const parsed = await simpleParser(replyRaw);
        const visible = `${parsed.subject ?? ''}\n${parsed.text ?? ''}\n${replyText}`;
        expect(parsed.attachments).toHaveLength(0);
        expect(visible).not.toMatch(/fwmark|fwdata|Content-Disposition|multipart\/mixed|image\/|application\/pdf|text\/plain; name=/i);
        for (const [, f] of s.uploads) {
          const data = bytesOf(f);
          expect(visible).not.toContain(createHash('sha256').update(data).digest('hex'));
          expect(visible).not.toContain(data.subarray(0, 57).toString('base64'));
          expect(replyRaw.includes(data.subarray(0, Math.min(24, data.length)))).toBe(false);
        }
        for (const id of ids) expect(visible).not.toContain(id);
      }),
      { numRuns: 40 },
    );
  }, 240_000);
});
