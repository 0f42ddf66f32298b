// Property test (issue 10, class 10): no C0/C1 control character (U+0000-U+001F, U+007F-U+009F) and no
// bidi override, isolate or mark (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) typed by a visitor
// reaches any header of a mail Formwarden builds: the owner's Subject, the stranger's (echo: sanitized), or
// any other header line.
import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../config/schema.js';
import { validateFields } from '../forms/validate.js';
import { buildMessage, parseFrom } from './message.js';
import { outboxRow, type NewMail } from './outbox.js';
import { planAutoreply, planNotifications, type PlannedSubmission } from './plan.js';
import { headerText } from './template.js';

const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;
const range = (from: number, to: number) => fc.integer({ min: from, max: to }).map((c) => String.fromCodePoint(c));
/** One character of the forbidden family. */
const forbidden = fc.oneof(range(0x00, 0x1f), range(0x7f, 0x9f), range(0x202a, 0x202e), range(0x2066, 0x2069), fc.constantFrom('\u200e', '\u200f', '\u061c'));
/** Visitor text: ordinary text (Japanese, Latin, emoji) with forbidden characters mixed in. */
const visitorText = fc
  .array(fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 8, unit: 'grapheme' }) }, { weight: 2, arbitrary: forbidden }, { weight: 1, arbitrary: fc.constantFrom('山田', 'invoice.exe', 'gpj', ' ') }), { minLength: 1, maxLength: 12 })
  .map((parts) => parts.join(''));

function config(): Config {
  return configSchema.parse({
    siteName: 'Example Shop',
    mail: { from: 'Example Shop <info@example.jp>' },
    forms: [
      {
        id: 'contact',
        title: 'Contact',
        fields: [
          { name: 'name', type: 'text', required: true, maxLength: 200 },
          { name: 'email', type: 'email', required: true },
          { name: 'company', type: 'text' },
          { name: 'message', type: 'textarea', required: true },
        ],
        notify: { to: ['owner@example.jp'], subject: '[Contact] {{name}} / {{company}}' },
        autoreply: { enabled: true, to: 'email', echo: 'sanitized', subject: 'Thank you, {{name}}', body: 'Receipt {{receipt_id}}', delay: '0s' },
      },
    ],
  });
}

async function build(mail: NewMail, cfg: Config): Promise<Buffer> {
  const row = outboxRow(mail, parseFrom(cfg.mail.from)!.address, Date.UTC(2026, 0, 1));
  return buildMessage({ id: row.id, kind: row.kind, from: cfg.mail.from, to: row.to_addr, replyTo: row.reply_to, subject: row.subject, body: row.body, messageId: row.message_id, date: new Date(row.created_at), headers: { 'X-Test': 'ok' } });
}

/** The auto-reply mail, whether planAutoreply answers the mail itself or a plan holding it. */
function autoreplyMail(plan: unknown): NewMail {
  const p = plan as { mail?: NewMail } & NewMail;
  const mail = p && 'mail' in p ? p.mail : p;
  expect(mail).toBeTruthy();
  return mail!;
}

/** Every string inside a parsed header value (addresses are objects). */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object' && !(v instanceof Date)) return Object.values(v).flatMap(strings);
  return [];
}

describe('headers never carry control or bidi characters', () => {
  it('headerText: whatever the input, the output has none of them', () => {
    fc.assert(
      fc.property(fc.oneof(visitorText, fc.string({ unit: 'binary', maxLength: 300 })), (text) => {
        expect(headerText(text)).not.toMatch(FORBIDDEN);
      }),
      { numRuns: 2000 },
    );
  });

  it('the owner notification and the auto-reply (echo: sanitized): no decoded header carries them', async () => {
    const cfg = config();
    const form = cfg.forms[0]!;
    let built = 0;
    await fc.assert(
      fc.asyncProperty(visitorText, visitorText, async (name, company) => {
        const v = validateFields(form, { name, company, email: 'taro@example.jp', message: 'hello' });
        if (!v.ok) return;
        const sub: PlannedSubmission = { id: 's_test', form, values: v.values, lang: 'ja', createdAt: new Date(Date.UTC(2026, 0, 1)) };
        const mails = [...planNotifications(cfg, sub), autoreplyMail(planAutoreply(cfg, sub, 0, true))];
        for (const mail of mails) {
          const raw = await build(mail, cfg);
          const parsed = await simpleParser(raw);
          expect(parsed.subject ?? '', mail.kind).not.toMatch(FORBIDDEN);
          for (const [key, value] of parsed.headers) {
            for (const s of strings(value)) expect(s, `${mail.kind} ${key}`).not.toMatch(FORBIDDEN);
          }
          built++;
        }
      }),
      { numRuns: 300 },
    );
    // The property only means something if the validator let visitor text with these characters through.
    expect(built).toBeGreaterThan(200);
  }, 120_000);
});
