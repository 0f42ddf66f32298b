// The request bodies the intake benches send: the 3-field contact form, urlencoded, in rotation
// (distinct names, addresses and messages; Japanese and ASCII text mixed as on a real site), plus
// the empty honeypot field the hosted form carries (without it Formwarden scores HONEYPOT_MISSING
// and quarantines the submission, while still answering 201).

export const NAMES = ['山田 太郎', 'Suzuki Hanako', '佐藤 花子', 'John Smith', '田中 一郎', 'Maria Garcia', '高橋 美咲', 'Lee Min-jun'];
export const MESSAGES = [
  '資料を送っていただけますか。よろしくお願いいたします。',
  'Hello, I would like to know your opening hours on weekends. Thank you.',
  '先日購入した商品について質問があります。\r\n返品は可能でしょうか。',
  'Could you send me a quote for 20 units, delivered to Osaka? Best regards.',
];

export const CONTACT_PATH = '/api/forms/contact/submissions';
export const URLENCODED = { 'content-type': 'application/x-www-form-urlencoded' };

/** The honeypot field name (defenses.honeypot.fields default); sent empty, as a person's browser does. */
export const HONEYPOT_FIELD = 'website';

export function contactBodies(count = 16): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const fields = {
      name: NAMES[i % NAMES.length]!,
      email: `visitor${i + 1}@example.jp`,
      message: `${MESSAGES[i % MESSAGES.length]!} (#${i + 1})`,
      [HONEYPOT_FIELD]: '',
    };
    out.push(new URLSearchParams(fields).toString());
  }
  return out;
}

/** The contact form every bench serves: the same as the test suite's BASE_FORM (test/support/instance.ts, which pulls in vitest). */
export const CONTACT_FORMS_YAML = `
forms:
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}", body: "{{name}} <{{email}}>\\n\\n{{message}}" }
    autoreply: { enabled: true, to: email, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}" }
`;

/**
 * Defenses under which a plain POST of the fields (and the empty honeypot `website`) is accepted with score 0:
 * the intake bench's part 1 (bench/servers/formwarden-instance.ts) and the test suite's write-path tests
 * (test/support/instance.ts re-exports it). The figure is the intake path itself (validation, SQLite write,
 * outbox rows in one transaction), so the bot defenses a load generator cannot satisfy are off: single-use
 * form tokens (a missing one scores 0 instead of being refused), ALTCHA proof of work, per-address rate limits
 * and bans (all load comes from 127.0.0.1), geo lookups and content/duplicate rules (the bodies rotate). The
 * honeypot stays (the bodies carry it, empty). Every submission must end as action "accept" with its
 * notification and auto-reply queued; the bench checks that, since a silently rejected or quarantined post
 * also gets a 201. The pipeline's own cost is a later figure.
 */
export const PLAIN_POST_DEFENSES = `
defenses:
  symbols: { TOKEN_MISSING: 0 }
  formToken: { missing: flag, minFillSeconds: 0 }
  honeypot: { fields: [website] }
  ipLists: { ban: false }
  rateLimit: { enabled: false }
  altcha: { enabled: false }
  geo: { enabled: false }
  content: { enabled: false }
`;
