// forms[].webhooks: what the configuration accepts and refuses, secrets from the environment, and the
// documented signature scheme (a receiver's check accepts exactly what Formwarden signed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../config/load.js';
import { testConfigYaml } from '../../test/support/instance.js';
import { resolveWebhooks, visitorPlaceholders, webhookUrlProblem } from './config.js';
import { webhookLines, webhookWarnings } from './report.js';
import { signatureHeader, verifySignature } from './sign.js';

const formWith = (hooks: string) => `
  - id: contact
    title: Contact
    fields:
      - { name: name, type: text, required: true }
      - { name: message, type: textarea, required: true }
    notify: { to: [owner@example.jp] }
    webhooks:
${hooks}`;
const load = (hooks: string) => parseConfigText(testConfigYaml({ dbUrl: 'sqlite::memory:', forms: formWith(hooks) }), 'test');
const problems = (hooks: string): string[] => {
  try {
    load(hooks);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
};

describe('webhook configuration', () => {
  it('accepts each target type with its defaults: on accepted, no template, 10s, 60 an hour', () => {
    const config = load(`
      - { name: team, type: slack, url: "https://hooks.slack.com/services/T0/B0/x" }
      - { name: ops, type: discord, urlEnv: FW_DISCORD_URL }
      - { name: sales, type: teams, url: "https://example.webhook.office.com/x", on: [accepted, quarantined] }
      - { name: cw, type: chatwork, url: "https://api.chatwork.com/v2/rooms/1/messages", secretEnv: FW_CHATWORK_TOKEN }
      - { name: crm, type: json, url: "http://127.0.0.1:9000/hook", secret: "0123456789abcdef0123", template: "{{name}}: {{message}}" }
`);
    const hooks = config.forms[0]!.webhooks;
    expect(hooks.map((h) => h.type)).toEqual(['slack', 'discord', 'teams', 'chatwork', 'json']);
    expect(hooks[0]).toMatchObject({ on: ['accepted'], timeout: '10s', maxPerHour: 60 });
    expect(hooks[0]!.template).toBeUndefined();
    expect(visitorPlaceholders(hooks[4]!.template)).toEqual(['name', 'message']);
    expect(visitorPlaceholders('{{receipt_id}} {{form_title}} {{score}}')).toEqual([]);
  });

  it('refuses what would leak or misfire, naming the key and the fix', () => {
    const p = problems(`
      - { name: a, type: slack, url: "http://hooks.slack.com/services/x" }
      - { name: b, type: slack }
      - { name: c, type: json, url: "https://x.example/h" }
      - { name: d, type: chatwork, url: "https://api.chatwork.com/v2/rooms/1/messages" }
      - { name: e, type: discord, url: "https://discord.com/api/webhooks/1/x", secret: "abc" }
      - { name: f, type: json, url: "https://x.example/h", secret: short }
      - { name: g, type: slack, url: "https://u:p@x.example/h" }
      - { name: h, type: slack, url: "https://x.example/h", template: "{{ name | upper }}" }
      - { name: i, type: slack, url: "https://x.example/h", on: [rejected] }
      - { name: j, type: slack, url: "https://x.example/h", timeout: 5m }
`);
    const text = p.join('\n');
    expect(text).toMatch(/webhooks\[a\]\.url: use https:\/\//);
    expect(text).toMatch(/webhooks\[b\]\.url: set exactly one of url and urlEnv/);
    expect(text).toMatch(/webhooks\[c\]\.secret: a json webhook is signed/);
    expect(text).toMatch(/webhooks\[d\]\.secret: chatwork needs your API token/);
    expect(text).toMatch(/webhooks\[e\]\.secret: discord takes no secret/);
    expect(text).toMatch(/webhooks\[f\]\.secret: use at least 16/);
    expect(text).toMatch(/webhooks\[g\]\.url: no user:password/);
    expect(text).toMatch(/not a plain \{\{placeholder\}\}/);
    expect(text).toMatch(/webhooks\[i\]\.on/);
    expect(text).toMatch(/webhooks\[j\]\.timeout: a duration from 1s to 60s/);
  });

  it('a template names fields of its form; names are unique within a form', () => {
    const text = problems(`
      - { name: h, type: slack, url: "https://x.example/h", template: "{{phone}} {{receipt_id}}" }
      - { name: h, type: discord, url: "https://x.example/h" }
`).join('\n');
    expect(text).toMatch(/webhooks\[h\]\.template: \{\{phone\}\} is neither a field of this form/);
    expect(text).toMatch(/duplicate webhook name "h"/);
  });

  it('http:// only to localhost, loopback or a private LAN address', () => {
    for (const ok of ['https://hooks.slack.com/x', 'http://127.0.0.1:8080/h', 'http://localhost/h', 'http://[::1]:9/h', 'http://10.1.2.3/h', 'http://192.168.1.20/h', 'http://172.16.0.1/h', 'http://[fd00::1]/h']) {
      expect(webhookUrlProblem(ok), ok).toBeNull();
    }
    for (const bad of ['http://hooks.slack.com/x', 'http://8.8.8.8/h', 'http://172.32.0.1/h', 'ftp://127.0.0.1/h', 'javascript:alert(1)', 'not a url']) {
      expect(webhookUrlProblem(bad), bad).not.toBeNull();
    }
  });

  it('URLs and secrets from the environment: a missing one is named (never its value), a present one resolved', () => {
    const config = load(`
      - { name: team, type: slack, urlEnv: FW_SLACK_URL }
      - { name: crm, type: json, url: "https://crm.example/h", secretEnv: FW_CRM_SECRET }
`);
    const missing = resolveWebhooks(config.forms, {});
    expect(missing.targets.size).toBe(0);
    expect(missing.problems.join('\n')).toMatch(/FW_SLACK_URL is not set[\s\S]*FW_CRM_SECRET is not set/);
    const bad = resolveWebhooks(config.forms, { FW_SLACK_URL: 'http://hooks.slack.com/services/SECRET', FW_CRM_SECRET: 'tooshort' });
    expect(bad.problems.join('\n')).toMatch(/FW_SLACK_URL: use https/);
    expect(bad.problems.join('\n')).toMatch(/FW_CRM_SECRET is shorter than 16/);
    expect(bad.problems.join('\n')).not.toMatch(/SECRET\b.*services|tooshort/);
    const ok = resolveWebhooks(config.forms, { FW_SLACK_URL: 'https://hooks.slack.com/services/T/B/x', FW_CRM_SECRET: 'k'.repeat(32) });
    expect(ok.problems).toEqual([]);
    expect(ok.targets.get('contact/slack:team')).toMatchObject({ url: 'https://hooks.slack.com/services/T/B/x', secret: null, timeoutMs: 10_000 });
    expect(ok.targets.get('contact/json:crm')?.secret).toBe('k'.repeat(32));
  });
});

describe('check-config on webhooks', () => {
  it('names each target (never its URL), and warns for a template that echoes visitor text or a missing variable', () => {
    const config = load(`
      - { name: team, type: slack, url: "https://hooks.slack.com/services/T0/B0/SECRETPART" }
      - { name: crm, type: json, urlEnv: FW_CRM_URL, secret: "0123456789abcdef0123", on: [accepted, quarantined], template: "{{name}}: {{message}} ({{receipt_id}})" }
`);
    const lines = webhookLines(config.forms[0]!).join('\n');
    expect(lines).toContain('webhook team: slack on accepted; no visitor text; at most 60/h');
    expect(lines).toContain('webhook crm: json on accepted, quarantined, signed (HMAC-SHA256); carries {{name}}, {{message}}; at most 60/h');
    const warnings = webhookWarnings(config, {}).join('\n');
    expect(warnings).toMatch(/forms\[contact\]\.webhooks\[crm\]\.template carries what visitors typed \(\{\{name\}\}, \{\{message\}\}\)/);
    expect(warnings).toMatch(/訪問者の入力/);
    expect(warnings).toMatch(/FW_CRM_URL is not set/);
    expect(warnings).not.toMatch(/team/);
    expect(`${lines}\n${warnings}`).not.toContain('SECRETPART');
  });
});

describe('the signature scheme (X-Formwarden-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">)', () => {
  const secret = 'a-very-secret-key-0123456789';
  it('verifies what was signed; any other body, key, time or header fails', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }), fc.integer({ min: -1000, max: 1000 }), (body, other, t, skew) => {
        const header = signatureHeader(secret, body, t);
        expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
        expect(verifySignature(secret, header, body, t + skew)).toBe(Math.abs(skew) <= 300);
        if (other !== body) expect(verifySignature(secret, header, other, t)).toBe(false);
        expect(verifySignature(`${secret}x`, header, body, t)).toBe(false);
        expect(verifySignature(secret, header.replace(/t=\d+/, `t=${t + 1}`), body, t)).toBe(false);
        expect(verifySignature(secret, header.slice(0, -1), body, t)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
