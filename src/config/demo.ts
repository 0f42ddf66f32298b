// The configuration used when no file exists (`npm start` on a fresh checkout), and the commented file
// that `formwarden init` writes. One text serves both, so the demo is always a valid starting point.
export function configTemplate(secrets?: { tokenKey: string; linkKey: string }, opts: { timeZone?: string } = {}): string {
  const secretBlock = secrets
    ? `# Keys for signed tokens and links. Keep them secret; changing them invalidates open forms and links.
# They may also come from the environment: FORMWARDEN_TOKEN_KEY, FORMWARDEN_LINK_KEY.
secrets:
  tokenKey: "${secrets.tokenKey}"
  linkKey: "${secrets.linkKey}"
`
    : '';
  return `# Formwarden configuration. Reference: docs/configuration.md
siteName: Example Shop
timeZone: ${opts.timeZone ?? 'Asia/Tokyo'}        # {{submitted_at}} in mails; an IANA name (Asia/Tokyo, UTC, Europe/Berlin)

server:
  host: 127.0.0.1
  port: 8787
  # publicUrl: the address visitors use (https://forms.example.jp behind your proxy)
  publicUrl: "http://127.0.0.1:8787"
  # host: 0.0.0.0             # listen on every interface (other machines on your network); pages work over
                              # plain http there: HSTS and upgrade-insecure-requests only go with https
  # bodyLimit: 65536          # bytes; larger posts are answered 413
  # trustProxy: [127.0.0.1]   # proxies whose X-Forwarded-For counts
  # metricsFrom: [127.0.0.1]  # who may read /metrics (default: this machine only; others get 404)

database:
  url: "sqlite:./data/formwarden.db"     # or postgres://user@127.0.0.1:5432/formwarden

mail:
  from: "Example Shop <info@example.jp>"
  transport: capture          # mail is kept in the database (npx formwarden mail list);
                              # smtp://127.0.0.1:25 or smtps://user:pass@smtp.example.jp:465 sends it
  retry: [1m, 5m, 15m, 1h, 4h]   # then the mail is dead (npx formwarden mail list --state dead)

${secretBlock}forms:
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    description:
      ja: ご用件をご記入ください。担当者よりご連絡いたします。
      en: Tell us what you need and we will get back to you.
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify:
      to: [owner@example.jp]
      subject: "[{{form_title}}] {{name}} 様より（{{receipt_id}}）"
      # No body: the notification lists every field with its label, the receipt number and the time.
      # A body of your own must name each field ({{name}}, ...); check-config warns about a missing one.
    autoreply:
      enabled: true
      to: email
      # Only owner-written text and system placeholders ({{receipt_id}}, {{submitted_at}},
      # {{form_title}}, {{site_name}}): a bot cannot make this mail carry its text.
      # The visitor's page language picks the text: subject/body (Japanese), or translations.en.
      subject: "【{{site_name}}】お問い合わせを受け付けました（受付番号 {{receipt_id}}）"
      body: "{{site_name}} へのお問い合わせありがとうございます。\\n受付番号: {{receipt_id}}（{{submitted_at}}）\\n担当者よりご連絡いたします。"
      translations:
        en:
          subject: "{{site_name}}: we received your inquiry (receipt {{receipt_id}})"
          body: "Thank you for contacting {{site_name}}.\\nYour receipt number is {{receipt_id}} ({{submitted_at}}).\\nWe will reply soon."
`;
}
