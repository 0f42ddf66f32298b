// Everything a visitor or owner reads, in Japanese and English.
import type { FieldError } from '../forms/validate.js';

export type Lang = 'ja' | 'en';

/** The terminal's language for CLI output: Japanese when the locale says so, else English. */
export function defaultLang(env: NodeJS.ProcessEnv = process.env): Lang {
  return /^ja/i.test(env.LC_ALL || env.LC_MESSAGES || env.LANG || '') ? 'ja' : 'en';
}

/** A command's `--lang ja|en`, else the terminal's language. */
export const cliLang = (opt: string | undefined, env: NodeJS.ProcessEnv = process.env): Lang => (opt === 'ja' || opt === 'en' ? opt : defaultLang(env));

const dict = {
  ja: {
    required: 'この項目は必須です。',
    too_long: '{max}文字以内で入力してください。',
    too_short: '{min}文字以上で入力してください。',
    pattern: '入力形式が正しくありません。',
    email: 'メールアドレスを1件、正しい形式（例: name@example.jp）で入力してください。',
    tel: '電話番号は数字で入力してください（例: 03-1234-5678）。',
    url: 'http:// または https:// で始まるURLを入力してください。',
    option: '選択肢から選んでください。',
    single_line: '改行を含めないでください。',
    repeated: 'この項目が複数回送信されました。',
    not_text: '文字列で入力してください。',
    control_chars: '使用できない制御文字が含まれています。',
    file_type: 'このファイルの種類は受け付けていません（ファイル名ではなく中身で判定しています）。',
    file_too_large: 'ファイルが大きすぎます（1ファイル{size}まで）。',
    too_many_files: 'ファイルが多すぎます（{max}件まで）。',
    not_file: 'ファイルを選んでください。',
    file_hint: '1ファイル{size}まで、{max}件まで。',
    upload_file_too_large: 'ファイルが大きすぎます（1ファイル{size}まで）。小さいファイルを選んで、もう一度送信してください。',
    upload_too_many_files: 'ファイルが多すぎます（{max}件まで）。数を減らして、もう一度送信してください。',
    upload_too_large: 'ファイルの合計が大きすぎます（合計{size}まで）。数か大きさを減らして、もう一度送信してください。',
    upload_field_too_large: '入力内容が長すぎます。短くして、もう一度送信してください。',
    form_has_errors: '入力内容に誤りがあります。各項目をご確認ください。',
    submit: '送信する',
    sending: '送信中…',
    required_mark: '必須',
    thanks_title: '送信が完了しました',
    thanks_body: 'お問い合わせありがとうございます。内容を確認のうえ、担当者よりご連絡いたします。',
    receipt: '受付番号',
    next_title: '今後の流れ',
    next_reply: '担当者が内容を確認し、順次ご返信いたします。このお問い合わせについてご連絡いただく際は、受付番号をお知らせください。',
    next_confirmation: '確認メールが10分ほどたっても届かない場合は、迷惑メールフォルダをご確認ください。確認メールが届かない場合でも、お問い合わせは受け付けられています。',
    select_placeholder: '選択してください',
    privacy_policy: 'プライバシーポリシー',
    privacy_note: 'ご入力いただいた個人情報は、{link}に従って取り扱います。',
    export_received: '受付日時',
    export_outcome: '判定',
    export_score: 'スコア',
    export_reasons: '判定理由',
    back: 'フォームに戻る',
    not_found: 'フォームが見つかりません。',
    page_not_found: 'ページが見つかりません。',
    bad_request: 'リクエストを処理できませんでした。',
    too_large: '送信内容が大きすぎます。',
    unsupported_type: 'この形式の送信には対応していません。',
    rate_limited: '送信が多すぎます。しばらく待ってから再度お試しください。',
    blocked: 'このアドレスからの送信は受け付けられません。',
    server_busy: 'ただいま混み合っています。しばらく待ってから再度お試しください。',
    token_missing: 'このフォームは送信できませんでした。ページを再読み込みしてから、もう一度送信してください。',
    rejected: '送信内容を受け付けられませんでした。',
    honeypot_label: 'この欄は空のままにしてください',
    captcha_label: '画像の文字を入力してください',
    captcha_refresh: '別の画像を表示',
    noscript: 'JavaScript が無効でも送信できます（自動返信メールは送られない場合があります）。',
    language: 'English',
    webhook_accepted_title: '新しいお問い合わせ: {site} / {form}',
    webhook_quarantined_title: 'お問い合わせを保留しました: {site} / {form}',
    webhook_accepted_body: '受付番号 {receipt}（{time}）\n内容は通知メール、または `formwarden submissions list --form {form_id}` で確認できます。',
    webhook_quarantined_body: '受付番号 {receipt}（{time}）、スコア {score}\n迷惑投稿の疑いがあるため保留しました（通知はダイジェストにまとめて送ります）。`formwarden submissions list --form {form_id}` で確認できます。',
    mail_submitted_at: '受付日時',
    mail_form: 'フォーム',
  },
  en: {
    required: 'This field is required.',
    too_long: 'Use at most {max} characters.',
    too_short: 'Use at least {min} characters.',
    pattern: 'This value is not in the expected format.',
    email: 'Enter one email address, e.g. name@example.com.',
    tel: 'Enter a phone number using digits, e.g. +81 3-1234-5678.',
    url: 'Enter a URL starting with http:// or https://.',
    option: 'Choose one of the options.',
    single_line: 'Line breaks are not allowed here.',
    repeated: 'This field was sent more than once.',
    not_text: 'Enter text.',
    control_chars: 'This field contains control characters that are not allowed.',
    file_type: 'This kind of file is not accepted (judged by its content, not its name).',
    file_too_large: 'The file is too large (at most {size} per file).',
    too_many_files: 'Too many files (at most {max}).',
    not_file: 'Choose a file.',
    file_hint: 'Up to {max} files of at most {size} each.',
    upload_file_too_large: 'A file is too large (at most {size} per file). Choose a smaller file and send the form again.',
    upload_too_many_files: 'Too many files (at most {max}). Send fewer files.',
    upload_too_large: 'The files are too large together (at most {size} in all). Send fewer or smaller files.',
    upload_field_too_large: 'The text sent is too long. Shorten it and send the form again.',
    form_has_errors: 'Some fields need your attention.',
    submit: 'Send',
    sending: 'Sending…',
    required_mark: 'Required',
    thanks_title: 'Thank you',
    thanks_body: 'Your message has been received. We will get back to you soon.',
    receipt: 'Receipt number',
    next_title: 'What happens next',
    next_reply: 'We will read your inquiry and reply as soon as we can. If you contact us about it, please quote your receipt number.',
    next_confirmation: 'If no confirmation email has arrived within about ten minutes, please check your spam folder. Your inquiry has reached us even if no confirmation arrives.',
    select_placeholder: 'Please choose',
    privacy_policy: 'Privacy policy',
    privacy_note: 'We handle the personal data you send as described in our {link}.',
    export_received: 'Received',
    export_outcome: 'Outcome',
    export_score: 'Score',
    export_reasons: 'Reasons',
    back: 'Back to the form',
    not_found: 'No such form.',
    page_not_found: 'No such page.',
    bad_request: 'The request could not be processed.',
    too_large: 'The submission is too large.',
    unsupported_type: 'This content type is not supported.',
    rate_limited: 'Too many submissions. Please wait a moment and try again.',
    blocked: 'Submissions from this address are not accepted.',
    server_busy: 'The server is busy. Please wait a moment and try again.',
    token_missing: 'This form could not be submitted. Please reload the page and send it again.',
    rejected: 'The submission was not accepted.',
    honeypot_label: 'Leave this field empty',
    captcha_label: 'Type the characters in the image',
    captcha_refresh: 'Show another image',
    noscript: 'You can send this form without JavaScript (an automatic reply may not be sent).',
    language: '日本語',
    webhook_accepted_title: 'New inquiry: {site} / {form}',
    webhook_quarantined_title: 'Inquiry quarantined: {site} / {form}',
    webhook_accepted_body: 'Receipt {receipt} ({time})\nRead it in the notification mail or with `formwarden submissions list --form {form_id}`.',
    webhook_quarantined_body: 'Receipt {receipt} ({time}), score {score}\nHeld as possible spam (its notification goes into the digest). Read it with `formwarden submissions list --form {form_id}`.',
    mail_submitted_at: 'Received',
    mail_form: 'Form',
  },
} as const;

export type MessageKey = keyof (typeof dict)['en'];

export function t(lang: Lang, key: MessageKey, params: Record<string, string | number | undefined> = {}): string {
  return dict[lang][key].replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? ''));
}

export function fieldErrorText(lang: Lang, error: FieldError): string {
  return t(lang, error.code, { max: error.max, min: error.min, size: error.max === undefined ? undefined : formatBytes(error.max) });
}

/** 5 MB, 300 KB, 12 bytes (1 KB = 1024 bytes), the same in both languages. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Number((n / (1024 * 1024)).toFixed(1))} MB`;
  if (n >= 1024) return `${Number((n / 1024).toFixed(1))} KB`;
  return `${n} bytes`;
}

/** ?lang= wins, then Accept-Language (by q), then the form's language, then Japanese. */
export function pickLang(query: unknown, acceptLanguage: string | undefined, fallback: Lang = 'ja'): Lang {
  if (query === 'ja' || query === 'en') return query;
  if (acceptLanguage) {
    const ranked = acceptLanguage
      .split(',')
      .slice(0, 20)
      .map((part, i) => {
        const [tag = '', ...params] = part.trim().toLowerCase().split(';');
        const q = params.map((p) => /^\s*q=([0-9.]+)/.exec(p)?.[1]).find(Boolean);
        return { tag, q: q === undefined ? 1 : Number(q), i };
      })
      .filter((x) => x.q > 0)
      .sort((a, b) => b.q - a.q || a.i - b.i);
    for (const { tag } of ranked) {
      if (tag === 'ja' || tag.startsWith('ja-')) return 'ja';
      if (tag === 'en' || tag.startsWith('en-')) return 'en';
    }
  }
  return fallback;
}
