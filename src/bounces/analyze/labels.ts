// Display names of reasons and origins.
import type { OriginKind } from '../origin/index.js';

export type Lang = 'en' | 'ja';
export interface Text { en: string; ja: string }

export const ORIGIN_LABEL: Record<OriginKind, Text> = {
  ours: { en: 'Sent by Formwarden', ja: 'Formwarden の送信' },
  spoofing: { en: 'Forged sender (backscatter)', ja: '送信者詐称（バックスキャッター）' },
  account: { en: 'Your account, not Formwarden', ja: '自分のアカウント（Formwarden 以外）' },
  unrelated: { en: 'Not your domain', ja: '自ドメイン以外' },
  unknown: { en: 'Unknown (no original)', ja: '不明（元メールなし）' },
};

export const REASON_LABEL: Record<string, Text> = {
  userunknown: { en: 'No such user', ja: '宛先なし' },
  mailboxfull: { en: 'Mailbox full', ja: '容量超過' },
  hostunknown: { en: 'No such domain', ja: 'ドメインなし' },
  filtered: { en: 'Filtered', ja: 'フィルタ' },
  rejected: { en: 'Sender rejected', ja: '送信者拒否' },
  blocked: { en: 'IP blocked', ja: 'IP ブロック' },
  spamdetected: { en: 'Spam detected', ja: 'スパム判定' },
  policyviolation: { en: 'Policy', ja: 'ポリシー違反' },
  authfailure: { en: 'SPF/DKIM/DMARC failure', ja: '認証失敗' },
  badreputation: { en: 'Bad reputation', ja: '評判低下' },
  expired: { en: 'Expired (retries)', ja: '配送期限切れ' },
  suspend: { en: 'Suspended mailbox', ja: '停止中' },
  systemerror: { en: 'System error', ja: 'システムエラー' },
  networkerror: { en: 'Network error', ja: 'ネットワークエラー' },
  mesgtoobig: { en: 'Too big', ja: 'サイズ超過' },
  exceedlimit: { en: 'Limit exceeded', ja: '制限超過' },
  toomanyconn: { en: 'Too many connections', ja: '接続過多' },
  speeding: { en: 'Rate limited', ja: '送信速度制限' },
  securityerror: { en: 'Security error', ja: 'セキュリティエラー' },
  virusdetected: { en: 'Virus detected', ja: 'ウイルス検出' },
  contenterror: { en: 'Content error', ja: '内容エラー' },
  hasmoved: { en: 'Address moved', ja: 'アドレス移転' },
  mailererror: { en: 'Mailer error', ja: 'メーラーエラー' },
  norelaying: { en: 'Relaying denied', ja: '中継拒否' },
  notaccept: { en: 'Does not accept mail', ja: '受信不可' },
  notcompliantrfc: { en: 'Not RFC compliant', ja: 'RFC 非準拠' },
  onhold: { en: 'On hold', ja: '保留' },
  requireptr: { en: 'PTR required', ja: 'PTR 必須' },
  syntaxerror: { en: 'Syntax error', ja: '構文エラー' },
  systemfull: { en: 'System full', ja: 'ディスク満杯' },
  delivered: { en: 'Delivered', ja: '配信済み' },
  undefined: { en: 'Unclassified', ja: '分類不能' },
};

export function reasonLabel(reason: string, lang: Lang): string {
  return REASON_LABEL[reason]?.[lang] ?? reason;
}

export const UI = {
  title: { en: 'Bounce report', ja: 'バウンスレポート' },
  period: { en: 'Period', ja: '期間' },
  owner: { en: 'Owner domains', ja: '自ドメイン' },
  messages: { en: 'Messages read', ja: '読み込んだメッセージ' },
  bounces: { en: 'Bounces', ja: 'バウンス' },
  hard: { en: 'Hard', ja: 'ハード' },
  soft: { en: 'Soft', ja: 'ソフト' },
  complaints: { en: 'Complaints', ja: '苦情' },
  vacations: { en: 'Out-of-office', ja: '不在通知' },
  autoReplies: { en: 'Auto-replies to strangers', ja: '見知らぬ宛先への自動返信' },
  notBounces: { en: 'Not bounces', ja: 'バウンス以外' },
  unparseable: { en: 'Unreadable', ja: '解析不能' },
  undated: { en: 'Undated bounces', ja: '日付不明のバウンス' },
  findings: { en: 'Findings', ja: '所見' },
  whatToDo: { en: 'What to do', ja: '対処' },
  perDayReason: { en: 'Bounces per day by reason', ja: '日別バウンス（理由別）' },
  perDayOrigin: { en: 'Bounces per day by origin', ja: '日別バウンス（発生元別）' },
  byReason: { en: 'By reason', ja: '理由別' },
  byOrigin: { en: 'By origin', ja: '発生元別' },
  domains: { en: 'Top recipient domains', ja: '宛先ドメイン上位' },
  tlds: { en: 'Top-level domains', ja: 'トップレベルドメイン' },
  ips: { en: 'Top sending IPs (from the bounced originals)', ja: '送信元 IP 上位（戻ってきた元メールより）' },
  date: { en: 'Date', ja: '日付' },
  reason: { en: 'Reason', ja: '理由' },
  origin: { en: 'Origin', ja: '発生元' },
  domain: { en: 'Domain', ja: 'ドメイン' },
  count: { en: 'Count', ja: '件数' },
  share: { en: 'Share', ja: '割合' },
  ip: { en: 'IP', ja: 'IP' },
  total: { en: 'Total', ja: '合計' },
  other: { en: 'Other', ja: 'その他' },
  generated: { en: 'Generated', ja: '作成日時' },
  none: { en: 'none', ja: 'なし' },
  severity: { en: { critical: 'CRITICAL', warning: 'WARNING', info: 'info' }, ja: { critical: '緊急', warning: '警告', info: '情報' } },
} as const;
