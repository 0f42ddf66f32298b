// Every symbol a built-in defense can emit, with its default score and a description in English and
// Japanese. Scores are overridable from config (`symbols:`); a finding's `weight` multiplies the score.
// Default ladder: accept_no_autoreply >= 3, quarantine >= 6, reject >= 10.
import type { SymbolCatalog } from './types.js';

const s = (score: number, en: string, ja: string) => ({ score, description: { en, ja } });

export const DEFAULT_CATALOG: SymbolCatalog = {
  // pipeline
  DEFENSE_ERROR: s(0.5, 'A defense failed with an error; its onError policy applied (recorded as DEFENSE_ERROR:<name>).', '防御処理がエラーで失敗しました。onError の設定に従って処理しました（DEFENSE_ERROR:<名前> として記録）。'),
  DEFENSE_TIMEOUT: s(0.5, 'A defense did not answer in time; its onError policy applied (recorded as DEFENSE_TIMEOUT:<name>).', '防御処理が時間内に応答しませんでした。onError の設定に従って処理しました（DEFENSE_TIMEOUT:<名前> として記録）。'),

  // ip-lists
  IP_ALLOWLISTED: s(-5, 'The client address is on the allow list.', '送信元アドレスが許可リストに登録されています。'),
  IP_BLOCKLISTED: s(10, 'The client address is on the block list (rejected before anything is stored).', '送信元アドレスがブロックリストに登録されています（保存前に拒否）。'),
  IP_BANNED: s(10, 'The client address is temporarily banned after repeated rejected submissions.', '拒否された送信が続いたため、送信元アドレスを一時的に禁止しています。'),

  // geo
  GEO_COUNTRY_DENIED: s(10, "The client's country is on this form's deny list.", '送信元の国がこのフォームの拒否リストに含まれています。'),
  GEO_COUNTRY_NOT_ALLOWED: s(6, "The client's country is not on this form's allow list.", '送信元の国がこのフォームの許可リストに含まれていません。'),
  GEO_COUNTRY_SCORED: s(1, "The client's country has a configured score (weight = the configured score).", '送信元の国に設定されたスコアを加算しました（重み＝設定値）。'),
  GEO_COUNTRY_UNKNOWN: s(1, 'The country of the client address is unknown (private, loopback or unlisted address).', '送信元アドレスの国が不明です（プライベート・ループバック・未登録のアドレス）。'),
  GEO_ASN_DENIED: s(10, "The client's network (ASN) is on the deny list.", '送信元のネットワーク（ASN）が拒否リストに含まれています。'),
  GEO_ASN_SCORED: s(1, "The client's network (ASN) has a configured score (weight = the configured score).", '送信元のネットワーク（ASN）に設定されたスコアを加算しました（重み＝設定値）。'),

  // rate-limit
  RATE_LIMITED: s(10, 'Too many submissions from this address, network or form, or in total; try again later.', 'このアドレス・ネットワーク・フォーム、または全体からの送信が多すぎます。時間をおいて再送信してください。'),

  // form-token
  TOKEN_MISSING: s(4, 'The form token is missing (the form was not loaded from this server, or an old copy was used).', 'フォームトークンがありません（このサーバーから読み込んだフォームではないか、古いページからの送信です）。'),
  NO_PROOF: s(1, 'No form token: a plain HTML form (formToken.missing: accept). Stored and notified, never auto-replied; it stands for the missing honeypot and proof-of-work.', 'フォームトークンがありません（通常の HTML フォームからの送信。formToken.missing: accept）。保存して通知しますが、自動返信は送りません。ハニーポットと計算チャレンジがないことも、この記号にまとめて数えます。'),
  TOKEN_INVALID: s(10, 'The form token is malformed or its signature is wrong (forged).', 'フォームトークンの形式または署名が不正です（偽造）。'),
  TOKEN_TOO_FAST: s(6, 'The form was submitted faster than a person can fill it in.', '人が入力できるより速くフォームが送信されました。'),
  TOKEN_EXPIRED: s(3, 'The form token has expired (the page was open for a long time).', 'フォームトークンの有効期限が切れています（ページを長時間開いていました）。'),
  TOKEN_REPLAYED: s(8, 'The form token was already used.', 'フォームトークンはすでに使用されています。'),
  TOKEN_WRONG_FORM: s(8, 'The form token was issued for another form.', 'フォームトークンは別のフォーム用に発行されたものです。'),

  // honeypot
  HONEYPOT_FILLED: s(10, 'A hidden trap field was filled in (only bots see it).', '隠しトラップ項目に入力がありました（ボットにしか見えない項目です）。'),
  HONEYPOT_MISSING: s(6, 'A hidden trap field was not posted at all (the form was not submitted from our page).', '隠しトラップ項目が送信されていません（このページのフォームから送信されていません）。'),

  // altcha
  ALTCHA_MISSING: s(4, 'No proof-of-work solution (JavaScript disabled, or a bot); the inquiry is still delivered.', '計算チャレンジ（ALTCHA）の解答がありません（JavaScript 無効またはボット）。問い合わせは配信されます。'),
  ALTCHA_INVALID: s(8, 'The proof-of-work solution is malformed, wrong, or its signature does not match.', '計算チャレンジ（ALTCHA）の解答が不正、誤り、または署名が一致しません。'),
  ALTCHA_EXPIRED: s(3, 'The proof-of-work challenge has expired.', '計算チャレンジ（ALTCHA）の有効期限が切れています。'),
  ALTCHA_REPLAYED: s(8, 'The proof-of-work solution was already used.', '計算チャレンジ（ALTCHA）の解答はすでに使用されています。'),

  // captcha-image
  CAPTCHA_IMAGE_MISSING: s(4, 'The image check was not answered.', '画像認証に回答がありません。'),
  CAPTCHA_IMAGE_WRONG: s(6, 'The image check was answered wrongly.', '画像認証の回答が誤っています。'),
  CAPTCHA_IMAGE_INVALID: s(8, 'The image check token is malformed or forged.', '画像認証のトークンが不正です（偽造）。'),
  CAPTCHA_IMAGE_EXPIRED: s(3, 'The image check has expired.', '画像認証の有効期限が切れています。'),
  CAPTCHA_IMAGE_REPLAYED: s(8, 'The image check token was already used.', '画像認証のトークンはすでに使用されています。'),

  // third-party-captcha
  CAPTCHA_3P_PASSED: s(0, 'The reCAPTCHA / Turnstile / hCaptcha response was verified (detail: provider and reCAPTCHA score).', 'reCAPTCHA / Turnstile / hCaptcha の応答を確認しました（詳細: 提供元と reCAPTCHA のスコア）。'),
  CAPTCHA_3P_MISSING: s(4, 'No reCAPTCHA / Turnstile / hCaptcha response was posted.', 'reCAPTCHA / Turnstile / hCaptcha の応答が送信されていません。'),
  CAPTCHA_3P_FAILED: s(8, 'The captcha provider rejected the response.', 'キャプチャ提供元が応答を不合格としました。'),
  CAPTCHA_3P_LOW_SCORE: s(6, 'reCAPTCHA v3 scored the visitor below the threshold.', 'reCAPTCHA v3 のスコアがしきい値を下回りました。'),
  CAPTCHA_3P_WRONG_ACTION: s(6, 'The captcha response was made for another action.', 'キャプチャの応答は別のアクション用に生成されたものです。'),
  CAPTCHA_3P_WRONG_HOSTNAME: s(8, 'The captcha was solved on a site that is not allowed.', '許可されていないサイトでキャプチャが解かれました。'),
  CAPTCHA_3P_UNAVAILABLE: s(1, 'The captcha provider could not be reached; the inquiry is delivered without an auto-reply.', 'キャプチャ提供元に接続できませんでした。問い合わせは自動返信なしで配信されます。'),

  // content
  CONTENT_BAD_TEL: s(4, 'A telephone field contains more than digits and separators.', '電話番号の項目に数字と区切り記号以外の文字が含まれています。'),
  CONTENT_URL_IN_FIELD: s(5, 'A name, telephone or company field contains a URL.', '氏名・電話番号・会社名の項目に URL が含まれています。'),
  CONTENT_TOO_MANY_LINKS: s(6, 'The message contains more links than allowed.', 'メッセージに許可された数を超えるリンクが含まれています。'),
  CONTENT_DISALLOWED_WORD: s(6, 'The message contains a disallowed word.', 'メッセージに禁止語が含まれています。'),
  CONTENT_DISALLOWED_PATTERN: s(6, 'The message matches a disallowed pattern.', 'メッセージが禁止パターンに一致しました。'),
  CONTENT_DUPLICATE: s(4, 'The same message body was already submitted recently (weight grows with the count).', '同じ本文のメッセージが最近すでに送信されています（回数に応じて重みが増えます）。'),
  CONTENT_SCRIPT_MISMATCH: s(5, 'A Japanese form received text with no Japanese but Cyrillic script or many links.', '日本語フォームに、日本語を含まずキリル文字や多数のリンクを含む文章が送信されました。'),
  AKISMET_SPAM: s(6, 'Akismet classified the message as spam.', 'Akismet がスパムと判定しました。'),
  AKISMET_DISCARD: s(10, 'Akismet classified the message as blatant spam.', 'Akismet が明白なスパムと判定しました。'),
  AKISMET_UNAVAILABLE: s(0.5, 'Akismet could not be reached.', 'Akismet に接続できませんでした。'),
};

/** The catalog as a Markdown table (for docs/defenses.md). */
export function catalogMarkdown(catalog: SymbolCatalog = DEFAULT_CATALOG): string {
  const esc = (t: string) => t.replace(/\|/g, '\\|');
  const rows = Object.entries(catalog).map(([k, v]) => `| \`${k}\` | ${v.score} | ${esc(v.description.en)} | ${esc(v.description.ja)} |`);
  return ['| Symbol | Score | Description | 説明 |', '|---|---:|---|---|', ...rows].join('\n') + '\n';
}
