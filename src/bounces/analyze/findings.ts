// What the numbers mean and what to do about them, in English and Japanese.
import type { OriginKind } from '../origin/index.js';
import type { DayRow, Report } from './report.js';

import type { Text } from './labels.js';
export type { Text };
export interface Finding {
  id: 'account' | 'spoofing' | 'relay-abuse' | 'notify-bouncing' | 'domain-concentration' | 'complaints' | 'rising' | 'unknown-origin' | 'vacations' | 'quiet';
  severity: 'critical' | 'warning' | 'info';
  count: number;
  title: Text;
  detail: Text;
  action: Text;
}

/** Recent vs earlier daily mean: "rising" when the recent window is at least twice the earlier one. */
export function trend(days: DayRow[], value: (d: DayRow) => number): { rising: boolean; before: number; recent: number } {
  if (days.length < 4) return { rising: false, before: 0, recent: 0 };
  const w = Math.min(7, Math.floor(days.length / 2));
  const recentDays = days.slice(-w);
  const earlier = days.slice(0, -w);
  const sum = (xs: DayRow[]) => xs.reduce((s, d) => s + value(d), 0);
  const recent = sum(recentDays) / recentDays.length;
  const before = sum(earlier) / earlier.length;
  return { rising: sum(recentDays) >= 5 && recent >= 2 * before + 0.5, before: round1(before), recent: round1(recent) };
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
const COMMON_TLDS = new Set(['.com', '.net', '.org', '.jp', '.edu', '.gov', '.io']);

export function buildFindings(r: Report, extra: { ownerRecipientBounces: number; ourBounces: number }): Finding[] {
  const out: Finding[] = [];
  const o = r.byOrigin;
  const t = (k: OriginKind) => trend(r.days, (d) => d.byOrigin[k]);
  const risingText = (tr: ReturnType<typeof trend>): Text => (tr.rising
    ? { en: ` It is rising: ${tr.before}/day before, ${tr.recent}/day recently.`, ja: `増加傾向です（以前は1日あたり${tr.before}件、最近は${tr.recent}件）。` }
    : { en: '', ja: '' });

  if (o.account > 0) {
    const tr = risingText(t('account'));
    out.push({
      id: 'account', severity: 'critical', count: o.account,
      title: { en: 'Your mail account may be taken over', ja: 'メールアカウントが乗っ取られている可能性があります' },
      detail: {
        en: `${o.account} bounce(s) returned mail that went out through your own mail account or server (authenticated submission, DKIM/SPF pass for your domain) but that Formwarden never sent.${tr.en} Someone who knows your password is probably sending spam or fraud mail as you.`,
        ja: `${o.account}件のバウンスは、あなた自身のメールアカウント／サーバーから（認証付き送信、あなたのドメインで DKIM/SPF 合格）送られたのに Formwarden が送っていないメールです。${tr.ja}パスワードを知った第三者が、あなたになりすましてスパムや詐欺メールを送っている可能性が高いです。`,
      },
      action: {
        en: 'Change the mail account password now, sign out all sessions, revoke unknown app passwords, check forwarding rules and filters, enable two-factor authentication, and ask your provider for the login history. Check the sending IPs below.',
        ja: '今すぐメールアカウントのパスワードを変更し、全セッションからログアウトし、心当たりのないアプリパスワードを削除し、転送設定とフィルタを確認し、二要素認証を有効にし、メール事業者にログイン履歴を確認してください。下の送信元 IP も確認してください。',
      },
    });
  }
  if (extra.ownerRecipientBounces > 0) {
    out.push({
      id: 'notify-bouncing', severity: 'critical', count: extra.ownerRecipientBounces,
      title: { en: 'Notifications to you are bouncing: inquiries may be lost', ja: 'あなた宛ての通知メールが届いていません（問い合わせを取りこぼしている可能性）' },
      detail: {
        en: `${extra.ownerRecipientBounces} notification(s) Formwarden sent to your own address came back.`,
        ja: `Formwarden があなた自身のアドレスに送った通知のうち ${extra.ownerRecipientBounces}件が戻ってきました。`,
      },
      action: {
        en: 'Check the notification address in the configuration, the mailbox quota and your spam filter; look at the inquiries in Formwarden itself meanwhile.',
        ja: '設定の通知先アドレス、メールボックスの容量、迷惑メールフィルタを確認してください。その間は Formwarden 上で問い合わせを確認してください。',
      },
    });
  }
  if (r.totals.autoRepliesToStrangers > 0) {
    const tr = trend(r.days, (d) => d.autoRepliesToStrangers);
    const rt = risingText(tr);
    out.push({
      id: 'relay-abuse', severity: tr.rising || r.totals.autoRepliesToStrangers >= 20 ? 'warning' : 'info', count: r.totals.autoRepliesToStrangers,
      title: { en: 'Auto-replies to strangers are bouncing (form used as a relay?)', ja: '見知らぬ宛先への自動返信がバウンスしています（フォームの踏み台利用？）' },
      detail: {
        en: `${r.totals.autoRepliesToStrangers} bounce(s) are auto-replies sent to the address typed into the form.${rt.en} A few are typos; many, or many to the same foreign domains, mean someone enters other people's addresses so that your form mails them (relay abuse), which hurts your domain's reputation.`,
        ja: `${r.totals.autoRepliesToStrangers}件のバウンスは、フォームに入力されたアドレスへの自動返信です。${rt.ja}少数なら入力ミスですが、多い場合や特定の海外ドメインに集中している場合は、第三者が他人のアドレスを入力してあなたのフォームからメールを送らせている（踏み台）可能性があり、ドメインの評判を下げます。`,
      },
      action: {
        en: 'Make the auto-reply not repeat the visitor\'s text, enable CAPTCHA/proof-of-work and stricter rate limits, or turn the auto-reply off for a while.',
        ja: '自動返信に訪問者の入力内容を含めない、CAPTCHA／プルーフ・オブ・ワークや厳しめのレート制限を有効にする、しばらく自動返信を止める、などの対策をしてください。',
      },
    });
  }
  if (o.spoofing > 0) {
    const tr = t('spoofing');
    const rt = risingText(tr);
    out.push({
      id: 'spoofing', severity: tr.rising || o.spoofing >= 10 ? 'warning' : 'info', count: o.spoofing,
      title: { en: 'Your domain is being forged (backscatter)', ja: 'あなたのドメインが送信者として詐称されています（バックスキャッター）' },
      detail: {
        en: `${o.spoofing} bounce(s) are for mail that only claimed to come from your domain: sent from foreign servers, failing SPF/DKIM. Formwarden did not send it and your account was not used.${rt.en}`,
        ja: `${o.spoofing}件のバウンスは、あなたのドメインを名乗っただけの他人のメール（外部サーバーから送信され、SPF/DKIM 不合格）に対するものです。Formwarden が送ったものではなく、アカウントも使われていません。${rt.ja}`,
      },
      action: {
        en: 'Publish SPF ending in "-all", sign with DKIM and publish DMARC (p=quarantine, then p=reject). Receivers then reject forged mail instead of bouncing it to you.',
        ja: 'SPF を「-all」で公開し、DKIM 署名を有効にし、DMARC（p=quarantine、その後 p=reject）を公開してください。受信側が偽装メールを差し戻さずに拒否するようになります。',
      },
    });
  }
  const topTld = r.recipientTlds[0];
  if (topTld && topTld.count >= 10 && topTld.share >= 0.25 && !COMMON_TLDS.has(topTld.tld) && !r.ownerDomains.some((d) => d.endsWith(topTld.tld))) {
    out.push({
      id: 'domain-concentration', severity: 'warning', count: topTld.count,
      title: { en: `${pct(topTld.share)} of bounces go to ${topTld.tld} addresses`, ja: `バウンスの ${pct(topTld.share)} が ${topTld.tld} 宛てです` },
      detail: {
        en: `A large share of bounces to one unusual top-level domain (${topTld.tld}) rarely comes from real visitors: it is typical of lists of harvested addresses fed into a form or of spam forged with your domain.`,
        ja: `特定の珍しいトップレベルドメイン（${topTld.tld}）へのバウンスが多いのは、実際の訪問者によるものではなく、収集したアドレスのリストをフォームに入力する攻撃や、ドメインを詐称したスパムによく見られる傾向です。`,
      },
      action: {
        en: 'See whether those bounces are auto-replies (relay abuse) or forged mail (spoofing) above; consider blocking submissions with such addresses or from those countries.',
        ja: 'それらが自動返信（踏み台）か偽装メール（詐称）かを上の項目で確認し、該当するアドレスや国からの送信の制限を検討してください。',
      },
    });
  }
  if (r.totals.complaints > 0) {
    out.push({
      id: 'complaints', severity: r.totals.complaints >= 3 ? 'warning' : 'info', count: r.totals.complaints,
      title: { en: 'Recipients reported mail as spam', ja: '受信者がメールを迷惑メールとして報告しています' },
      detail: {
        en: `${r.totals.complaints} complaint report(s) (ARF) arrived. Complaints about auto-replies mean people received mail they did not ask for.`,
        ja: `${r.totals.complaints}件の苦情レポート（ARF）が届きました。自動返信への苦情は、受信者が頼んでいないメールを受け取ったことを意味します。`,
      },
      action: {
        en: 'Check which mails were reported; keep auto-replies short and free of visitor text; treat a rise like relay abuse.',
        ja: 'どのメールが報告されたか確認してください。自動返信は短く、訪問者の入力を含めないようにしてください。増えている場合は踏み台利用と同様に対処してください。',
      },
    });
  }
  const tr = trend(r.days, (d) => d.bounces);
  if (tr.rising && !out.some((f) => f.severity !== 'info')) {
    out.push({
      id: 'rising', severity: 'warning', count: r.totals.bounces,
      title: { en: 'Bounces are rising', ja: 'バウンスが増えています' },
      detail: { en: `${tr.before}/day before, ${tr.recent}/day recently.`, ja: `以前は1日あたり${tr.before}件、最近は${tr.recent}件です。` },
      action: { en: 'Look at the reasons and recipient domains below to see what changed.', ja: '下の理由別・宛先ドメイン別の表で何が変わったかを確認してください。' },
    });
  }
  if (o.unknown > 0 && o.unknown >= r.totals.bounces * 0.2) {
    out.push({
      id: 'unknown-origin', severity: 'info', count: o.unknown,
      title: { en: 'Some bounces do not show the original mail', ja: '元のメールが分からないバウンスがあります' },
      detail: {
        en: `${o.unknown} bounce(s) returned no headers of the original mail, so their origin cannot be told.`,
        ja: `${o.unknown}件のバウンスには元のメールのヘッダーが含まれておらず、送信元を判定できません。`,
      },
      action: { en: 'Nothing to do unless the number grows.', ja: '件数が増えない限り対応は不要です。' },
    });
  }
  if (r.totals.vacations > 0) {
    out.push({
      id: 'vacations', severity: 'info', count: r.totals.vacations,
      title: { en: 'Out-of-office replies', ja: '不在通知' },
      detail: { en: `${r.totals.vacations} automatic out-of-office replies; they are not failures.`, ja: `${r.totals.vacations}件の自動不在通知です。配信失敗ではありません。` },
      action: { en: 'Nothing to do.', ja: '対応は不要です。' },
    });
  }
  if (!out.some((f) => f.severity !== 'info')) {
    out.unshift({
      id: 'quiet', severity: 'info', count: r.totals.bounces,
      title: { en: 'Nothing unusual', ja: '特に問題はありません' },
      detail: {
        en: `${r.totals.bounces} bounce(s) in total; no sign of forgery, account abuse or relay abuse that needs action.`,
        ja: `バウンスは合計${r.totals.bounces}件です。対応が必要な詐称・アカウント悪用・踏み台利用の兆候はありません。`,
      },
      action: { en: 'Nothing to do.', ja: '対応は不要です。' },
    });
  }
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  return out.sort((a, b) => rank[a.severity] - rank[b.severity]);
}
