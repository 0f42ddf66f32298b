import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from './load.js';
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

describe('configuration', () => {
  it('accepts the minimal configuration and fills defaults', () => {
    const c = parseConfigText(MINIMAL, 'test.yaml');
    expect(c.forms[0]!.fields.map((f) => f.name)).toEqual(['name', 'email', 'message']);
    expect(c.mail.retry).toEqual(['1m', '5m', '15m', '1h', '4h']);
    expect(c.server.bodyLimit).toBe(65536);
    expect(c.forms[0]!.autoreply?.echo).toBe('none');
  });
  it('accepts the built-in demo and the init template', () => {
    expect(parseConfigText(configTemplate(), 'demo').forms[0]!.id).toBe('contact');
    const withSecrets = parseConfigText(configTemplate({ tokenKey: 'k'.repeat(43), linkKey: 'l'.repeat(43) }), 'init');
    expect(withSecrets.secrets.tokenKey).toBe('k'.repeat(43));
  });
  it('names the key path (with the form id), what is wrong and how to fix it', () => {
    const bad = MINIMAL.replace('type: email', 'type: e-mail');
    expect(problems(bad)).toEqual([
      'forms[contact].fields[email].type: "e-mail" is not allowed. Fix: use one of "text", "email", "tel", "url", "textarea", "select", "checkbox", "radio", "hidden"',
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
  it('reports YAML syntax errors and duplicate ids', () => {
    expect(problems('server: [\n')[0]).toMatch(/^YAML syntax: .*Fix: check indentation/);
    const dup = MINIMAL.replace('forms:\n', 'forms:\n  - { id: contact, title: x, fields: [{ name: a, type: text }], notify: { to: [a@b.jp] } }\n');
    expect(problems(dup)).toEqual(['forms[contact].id: duplicate form id "contact". Fix: correct forms[contact].id (see docs/configuration.md)']);
  });
  it('takes secrets and the database URL from the environment', () => {
    const c = parseConfigText(MINIMAL, 'x', { FORMWARDEN_TOKEN_KEY: 't'.repeat(40), FORMWARDEN_DATABASE_URL: 'postgres://u@h/db' });
    expect(c.secrets.tokenKey).toBe('t'.repeat(40));
    expect(c.database.url).toBe('postgres://u@h/db');
  });
});
