import { describe, expect, it } from 'vitest';
import { ConfigError, lintConfig, parseConfigText } from './load.js';
import { configTemplate } from './demo.js';

// The configuration from issue part 1, verbatim.
const MINIMAL = `
server: { host: 127.0.0.1, port: 8787, publicUrl: "http://127.0.0.1:8787" }
database: { url: "sqlite:./data/formwarden.db" }
mail:
  from: "Example Shop <info@example.jp>"
  transport: "smtp://127.0.0.1:2525"
forms:
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}", body: "{{name}} <{{email}}>\\n\\n{{message}}" }
    autoreply: { enabled: true, to: email, subject: "Thank you, {{name}}", body: "Dear {{name}},\\n\\n{{message}}" }
`;

function problems(text: string): string[] {
  try {
    parseConfigText(text, 'test.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

// The same with an auto-reply that carries no visitor text (part 2 refuses the one above).
const SAFE = MINIMAL.replace('subject: "Thank you, {{name}}", body: "Dear {{name}},\\n\\n{{message}}"', 'subject: "Thank you", body: "We received your inquiry {{receipt_id}}."');

describe('configuration', () => {
  it('accepts the minimal configuration and fills defaults', () => {
    expect(SAFE).not.toBe(MINIMAL);
    const c = parseConfigText(SAFE, 'test.yaml');
    expect(c.forms[0]!.fields.map((f) => f.name)).toEqual(['name', 'email', 'message']);
    expect(c.mail.retry).toEqual(['1m', '5m', '15m', '1h', '4h']);
    expect(c.server.bodyLimit).toBe(65536);
    expect(c.forms[0]!.autoreply?.echo).toBe('none');
    expect(c.forms[0]!.autoreply?.delay).toBe('2m');
  });

  describe('relay lint (exact messages)', () => {
    it('refuses visitor fields in an auto-reply with echo: none, naming the field, the risk and the two fixes', () => {
      expect(problems(MINIMAL)).toEqual([
        'forms[contact].autoreply.subject uses the visitor field {{name}}: the subject is the first thing a recipient sees and cannot be sanitized safely. Fix: use only owner-written text and system placeholders in the subject.',
        'forms[contact].autoreply.body uses the visitor field {{name}}: a bot can put a spam link in that field and the auto-reply will carry it to any address it types. Fix: remove {{name}} from the auto-reply (system placeholders {{receipt_id}}, {{submitted_at}}, {{form_title}}, {{site_name}} are safe), or set autoreply.echo: sanitized to include it with links, addresses and phone numbers stripped.',
        'forms[contact].autoreply.body uses the visitor field {{message}}: a bot can put a spam link in that field and the auto-reply will carry it to any address it types. Fix: remove {{message}} from the auto-reply (system placeholders {{receipt_id}}, {{submitted_at}}, {{form_title}}, {{site_name}} are safe), or set autoreply.echo: sanitized to include it with links, addresses and phone numbers stripped.',
      ]);
    });
    it('refuses a visitor field in the auto-reply subject even with echo: sanitized', () => {
      const sanitized = MINIMAL.replace('autoreply: { enabled: true,', 'autoreply: { echo: sanitized, enabled: true,');
      expect(problems(sanitized)).toEqual([
        'forms[contact].autoreply.subject uses the visitor field {{name}}: the subject is the first thing a recipient sees and cannot be sanitized safely. Fix: use only owner-written text and system placeholders in the subject.',
      ]);
      // Without the subject field the sanitized echo is accepted.
      expect(() => parseConfigText(sanitized.replace('subject: "Thank you, {{name}}"', 'subject: "Thank you"'), 'x')).not.toThrow();
    });
    it('refuses a notification recipient taken from a visitor field', () => {
      const bad = SAFE.replace('notify: { to: [owner@example.jp]', 'notify: { to: ["{{email}}"]');
      expect(problems(bad)).toEqual([
        'forms[contact].notify.to[0] comes from the visitor field email: a notification recipient must be an address you own, never one typed into the form. Fix: list the owner\'s addresses in notify.to; the visitor\'s address is already set as Reply-To.',
      ]);
    });
    it('refuses an auto-reply that echoes visitor text with every cap off', () => {
      const uncapped = MINIMAL.replace('autoreply: { enabled: true,', 'autoreply: { echo: sanitized, caps: null, enabled: true,').replace('subject: "Thank you, {{name}}"', 'subject: "Thank you"');
      expect(problems(uncapped)).toEqual([
        'forms[contact].autoreply.caps turns every cap off while the auto-reply carries visitor text: a bot could send it to any number of addresses. Fix: remove caps: null to use the default caps, or set autoreply.caps.perAddress.',
      ]);
    });
  });
  it('accepts the built-in demo and the init template', () => {
    expect(parseConfigText(configTemplate(), 'demo').forms[0]!.id).toBe('contact');
    const withSecrets = parseConfigText(configTemplate({ tokenKey: 'k'.repeat(43), linkKey: 'l'.repeat(43) }), 'init');
    expect(withSecrets.secrets.tokenKey).toBe('k'.repeat(43));
  });
  it('names the key path (with the form id), what is wrong and how to fix it', () => {
    const bad = MINIMAL.replace('type: email', 'type: e-mail');
    expect(problems(bad)).toEqual([
      'forms[contact].fields[email].type: "e-mail" is not allowed. Fix: use one of "text", "email", "tel", "url", "textarea", "select", "checkbox", "radio", "hidden", "file"',
    ]);
  });
  it('reports unknown keys, wrong types and missing keys', () => {
    expect(problems(MINIMAL.replace('port: 8787', 'prot: 8787'))).toEqual([
      'server: unknown key "prot". Fix: remove it or check the spelling (see docs/configuration.md)',
    ]);
    expect(problems(MINIMAL.replace('port: 8787', 'port: "eighty"'))).toEqual(['server.port: expected number, got string "eighty". Fix: write a number here']);
    expect(problems('server: { port: 1 }\n')).toEqual(['forms: required (array) but missing. Fix: add forms']);
    expect(problems(MINIMAL.replace('transport: "smtp://127.0.0.1:2525"', 'transport: "smtp"'))[0]).toMatch(/^mail.transport: use "capture" or smtp:\/\/host:port/);
  });
  it('refuses owner and alert addresses that are not plain addresses', () => {
    expect(problems(SAFE.replace('notify: { to: [owner@example.jp]', 'notify: { to: ["Owner <owner@example.jp>"]'))[0]).toMatch(/^forms\[contact\]\.notify\.to\[0\]: not a plain email address/);
    expect(problems(`${SAFE}alerts: { to: [ops.example.jp] }\n`)[0]).toMatch(/^alerts\.to\[0\]: not a plain email address/);
    expect(parseConfigText(`${SAFE}alerts: { to: [ops@example.jp] }\n`, 'x').alerts.to).toEqual(['ops@example.jp']);
  });
  it('warns when auto-replies are on and server.publicUrl is unset (unsubscribe links would point to the bind address)', () => {
    const noUrl = SAFE.replace(', publicUrl: "http://127.0.0.1:8787"', '');
    expect(noUrl).not.toBe(SAFE);
    const warnings = (text: string) => lintConfig(parseConfigText(text, 'x')).filter((i) => i.severity === 'warning').map((i) => i.code);
    expect(warnings(noUrl)).toContain('W_PUBLIC_URL_UNSET');
    expect(warnings(SAFE)).not.toContain('W_PUBLIC_URL_UNSET');
  });
  it('reports YAML syntax errors and duplicate ids', () => {
    expect(problems('server: [\n')[0]).toMatch(/^YAML syntax: .*Fix: check indentation/);
    const dup = MINIMAL.replace('forms:\n', 'forms:\n  - { id: contact, title: x, fields: [{ name: a, type: text }], notify: { to: [a@b.jp] } }\n');
    expect(problems(dup)).toEqual(['forms[contact].id: duplicate form id "contact". Fix: correct forms[contact].id (see docs/configuration.md)']);
  });
  it('takes secrets and the database URL from the environment', () => {
    const c = parseConfigText(SAFE, 'x', { FORMWARDEN_TOKEN_KEY: 't'.repeat(40), FORMWARDEN_DATABASE_URL: 'postgres://u@h/db' });
    expect(c.secrets.tokenKey).toBe('t'.repeat(40));
    expect(c.database.url).toBe('postgres://u@h/db');
  });
});
