// Issue #12, items 3 and 4: the default notification lists every field by its label (option labels, not
// values) with the receipt number; a custom body that leaves a field out is warned about; {{submitted_at}}
// is in the configured time zone; subject and body have translations, the visitor's language picks them;
// init proposes this machine's time zone, the demo uses Asia/Tokyo and writes Japanese first.
import { describe, expect, it } from 'vitest';
import { configTemplate } from '../config/demo.js';
import { ConfigError, lintConfig, parseConfigText } from '../config/load.js';
import { systemTimeZone } from '../cli/init.js';
import { planAutoreply, planNotifications, systemValues, type PlannedSubmission } from './plan.js';
import { formatInZone } from './template.js';

const yaml = (form: string, top = '') => `
siteName: Example Shop
${top}
mail: { from: "Example Shop <info@example.jp>" }
server: { publicUrl: "https://forms.example.jp" }
forms:
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - name: topic
        type: select
        label: { ja: ご用件, en: Topic }
        options: [{ value: quote, label: { ja: お見積り, en: Quote } }, { value: other, label: { ja: その他, en: Other } }]
      - name: extras
        type: checkbox
        label: { ja: 追加, en: Extras }
        options: [{ value: a, label: { ja: 設置, en: Setup } }, { value: b, label: { ja: 保守, en: Support } }]
      - { name: company, type: text, label: { ja: 会社名, en: Company } }
      - { name: message, type: textarea, label: { ja: 内容, en: Message } }
${form}`;
const NOTIFY = '    notify: { to: [owner@example.jp] }\n';
const at = new Date('2026-12-04T18:10:53.000Z');
const sub = (config: ReturnType<typeof parseConfigText>, lang: 'ja' | 'en' = 'ja'): PlannedSubmission => ({
  id: 's_01m8hcr5vj7zq1j6tbr4vn',
  receipt: 'K7QD-3M9X',
  form: config.forms[0]!,
  values: { name: '山田 太郎', email: 'taro@example.jp', topic: 'quote', extras: 'a, b', company: '山田商店', message: '見積もりをお願いします。' },
  lang,
  createdAt: at,
});

describe('the notification body', () => {
  it('without notify.body: the receipt number, the time in timeZone, the form, then every field by label, options by their labels', () => {
    const config = parseConfigText(yaml(NOTIFY, 'timeZone: Asia/Tokyo'), 'test');
    const [mail] = planNotifications(config, sub(config, 'en'));
    expect(mail!.body).toBe(
      [
        '受付番号: K7QD-3M9X',
        '受付日時: 2026-12-05 03:10:53 JST',
        'フォーム: お問い合わせ',
        '',
        'お名前:\n山田 太郎\n',
        'メールアドレス:\ntaro@example.jp\n',
        'ご用件:\nお見積り\n',
        '追加:\n設置, 保守\n',
        '会社名:\n山田商店\n',
        '内容:\n見積もりをお願いします。\n',
      ].join('\n'),
    );
    expect(mail!.subject).toBe('[お問い合わせ] K7QD-3M9X');
  });

  it('a custom body that leaves fields out: check-config warns, naming each field and the fix; the complete one is not warned', () => {
    const partial = parseConfigText(yaml('    notify: { to: [owner@example.jp], body: "{{name}} <{{email}}>\\n{{message}}" }\n'), 'test');
    const warnings = lintConfig(partial).filter((i) => i.code === 'W_NOTIFY_FIELD_OMITTED');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.severity).toBe('warning');
    expect(warnings[0]!.message).toContain('forms[contact].notify.body does not show {{topic}}, {{extras}}, {{company}}');
    expect(warnings[0]!.message).toContain('remove notify.body');
    const complete = parseConfigText(yaml('    notify: { to: [owner@example.jp], body: "{{name}} {{email}} {{topic}} {{extras}} {{company}} {{message}}" }\n'), 'test');
    expect(lintConfig(complete).filter((i) => i.code === 'W_NOTIFY_FIELD_OMITTED')).toEqual([]);
    const translated = parseConfigText(yaml('    notify: { to: [owner@example.jp], translations: { en: { body: "{{name}}" } } }\n'), 'test');
    expect(lintConfig(translated).map((i) => i.path)).toContain('forms[contact].notify.translations.en.body');
  });
});

describe('time zone', () => {
  it('{{submitted_at}} follows timeZone (UTC when unset, as before); a name that is no time zone is refused', () => {
    const utc = parseConfigText(yaml(NOTIFY), 'test');
    expect(utc.timeZone).toBe('UTC');
    expect(systemValues(utc, sub(utc)).submitted_at).toBe('2026-12-04 18:10:53 UTC');
    const tokyo = parseConfigText(yaml(NOTIFY, 'timeZone: Asia/Tokyo'), 'test');
    expect(systemValues(tokyo, sub(tokyo, 'ja')).submitted_at).toBe('2026-12-05 03:10:53 JST');
    expect(systemValues(tokyo, sub(tokyo, 'en')).submitted_at).toBe('2026-12-05 03:10:53 GMT+9');
    expect(systemValues(tokyo, sub(tokyo)).receipt_id).toBe('K7QD-3M9X');
    expect(() => parseConfigText(yaml(NOTIFY, 'timeZone: Tokyo/Japan'), 'test')).toThrow(ConfigError);
    expect(() => parseConfigText(yaml(NOTIFY, 'timeZone: Tokyo/Japan'), 'test')).toThrow(/timeZone.*IANA name such as Asia\/Tokyo/);
  });

  it('formats any zone with its own offset', () => {
    expect(formatInZone(at, 'Europe/Berlin', 'en')).toBe('2026-12-04 19:10:53 GMT+1');
    expect(formatInZone(at, 'America/New_York', 'en')).toBe('2026-12-04 13:10:53 EST');
  });

  it('init proposes this machine\'s zone (TZ first); the demo uses Asia/Tokyo', () => {
    expect(systemTimeZone({ TZ: 'Asia/Tokyo' })).toBe('Asia/Tokyo');
    expect(systemTimeZone({ TZ: ':Europe/Berlin' })).toBe('Europe/Berlin');
    expect(systemTimeZone({ TZ: 'nonsense' })).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
    expect(parseConfigText(configTemplate({ tokenKey: 'k'.repeat(43), linkKey: 'l'.repeat(43) }, { timeZone: 'Europe/Berlin' }), 'init').timeZone).toBe('Europe/Berlin');
    expect(parseConfigText(configTemplate(), 'demo').timeZone).toBe('Asia/Tokyo');
  });
});

describe('templates per language', () => {
  const withTranslations = yaml(`${NOTIFY}    autoreply:
      subject: "【{{site_name}}】受付番号 {{receipt_id}}"
      body: "ありがとうございます。受付番号: {{receipt_id}}（{{submitted_at}}）"
      translations:
        en: { subject: "{{site_name}}: receipt {{receipt_id}}", body: "Thank you. Receipt {{receipt_id}} ({{submitted_at}})" }
`, 'timeZone: Asia/Tokyo');

  it('the visitor\'s page language picks the auto-reply; a language without a translation gets subject/body', () => {
    const config = parseConfigText(withTranslations, 'test');
    const en = planAutoreply(config, sub(config, 'en'), 0, true)!.mail!;
    expect(en.subject).toBe('Example Shop: receipt K7QD-3M9X');
    expect(en.body).toBe('Thank you. Receipt K7QD-3M9X (2026-12-05 03:10:53 GMT+9)');
    const ja = planAutoreply(config, sub(config, 'ja'), 0, true)!.mail!;
    expect(ja.subject).toBe('【Example Shop】受付番号 K7QD-3M9X');
    expect(ja.body).toBe('ありがとうございます。受付番号: K7QD-3M9X（2026-12-05 03:10:53 JST）');
  });

  it('a translation gets the same relay lint: a visitor field in translations.en.body is refused at load, by its path', () => {
    const bad = withTranslations.replace('body: "Thank you. Receipt {{receipt_id}} ({{submitted_at}})"', 'body: "Dear {{name}}, thank you"');
    expect(() => parseConfigText(bad, 'test')).toThrow(/forms\[contact\]\.autoreply\.translations\.en\.body uses the visitor field \{\{name\}\}/);
    const badSubject = withTranslations.replace('subject: "{{site_name}}: receipt {{receipt_id}}"', 'subject: "{{message}}"');
    expect(() => parseConfigText(badSubject, 'test')).toThrow(/autoreply\.translations\.en\.subject uses the visitor field \{\{message\}\}/);
  });

  it('the demo (and init) write Japanese first, with an English translation; the notification has no custom body', () => {
    const demo = parseConfigText(configTemplate(), 'demo');
    const form = demo.forms[0]!;
    expect(form.autoreply!.subject.startsWith('【')).toBe(true);
    expect(form.autoreply!.translations?.en?.subject).toContain('we received your inquiry');
    expect(form.notify.body).toBeUndefined();
    expect(lintConfig(demo).filter((i) => i.code === 'W_NOTIFY_FIELD_OMITTED')).toEqual([]);
  });
});
