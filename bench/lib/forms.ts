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
