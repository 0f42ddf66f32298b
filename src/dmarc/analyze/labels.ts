// Labels of the DMARC section, in English and Japanese (the bounce report's pattern, bounces/analyze/labels.ts).
import type { Text } from '../../bounces/analyze/labels.js';
import type { DmarcSection } from './section.js';

export const DMARC_UI = {
  title: { en: 'DMARC: who sends mail as your domain', ja: 'DMARC：あなたのドメインを名乗って送信しているのは誰か' },
  reports: { en: 'Aggregate reports', ja: '集計レポート' },
  reporters: { en: 'Reporters', ja: 'レポート送信元' },
  messages: { en: 'Messages reported', ja: '報告されたメール' },
  pass: { en: 'DMARC pass', ja: 'DMARC 合格' },
  fail: { en: 'DMARC fail', ja: 'DMARC 不合格' },
  sources: { en: 'Sending sources', ja: '送信元' },
  authorised: { en: 'Authorised', ja: '正規' },
  unknown: { en: 'Unknown', ja: '不明' },
  unknownFail: { en: 'Failing mail from unknown sources', ja: '不明な送信元からの不合格メール' },
  perDay: { en: 'Messages per day by source and result', ja: '日別メール数（送信元・結果別）' },
  authorisedPass: { en: 'Authorised sources', ja: '正規の送信元' },
  unknownPass: { en: 'Unknown sources, passing', ja: '不明な送信元（合格）' },
  unknownFailing: { en: 'Unknown sources, failing', ja: '不明な送信元（不合格）' },
  authorisedFailing: { en: 'Authorised sources, failing (forwarding?)', ja: '正規の送信元（不合格：転送？）' },
  bySource: { en: 'Volume by source and result', ja: '送信元別の件数と結果' },
  failingNetworks: { en: 'Sources failing alignment, by network', ja: '認証に不合格の送信元（ネットワーク別）' },
  failingCountries: { en: 'Failing mail by country', ja: '不合格メール（国別）' },
  newSources: { en: 'New sources', ja: '新しい送信元' },
  dispositions: { en: 'What receivers did', ja: '受信側の処置' },
  ip: { en: 'Source IP', ja: '送信元 IP' },
  network: { en: 'Network', ja: 'ネットワーク' },
  country: { en: 'Country', ja: '国' },
  status: { en: 'Status', ja: '区分' },
  total: { en: 'Messages', ja: '件数' },
  firstSeen: { en: 'First seen', ja: '初出' },
  headerFrom: { en: 'From domain', ja: 'From ドメイン' },
  count: { en: 'Sources', ja: '送信元数' },
  byConfig: { en: 'authorised (configured)', ja: '正規（設定）' },
  byAligned: { en: 'authorised (passes DMARC)', ja: '正規（DMARC 合格）' },
  noRecords: { en: 'No DMARC aggregate reports were found for this period.', ja: 'この期間の DMARC 集計レポートはありません。' },
  noHistory: { en: 'no earlier reports to compare with: every source is new', ja: '比較できる過去のレポートがないため、すべての送信元が新規です' },
  disposition: { none: { en: 'delivered (none)', ja: '配送（none）' }, quarantine: { en: 'quarantined', ja: '隔離（quarantine）' }, reject: { en: 'rejected', ja: '拒否（reject）' } } as Record<string, Text>,
} as const;

export function dispositionLabel(d: string): Text {
  return DMARC_UI.disposition[d] ?? { en: d, ja: d };
}

export function statusLabel(s: { authorisedBy: 'config' | 'aligned' | null }): Text {
  return s.authorisedBy === 'config' ? DMARC_UI.byConfig : s.authorisedBy === 'aligned' ? DMARC_UI.byAligned : DMARC_UI.unknown;
}

/** What the section means, as one finding (the bounce report's severity words). */
export function dmarcFinding(d: DmarcSection): { severity: 'critical' | 'warning' | 'info'; title: Text; detail: Text; action: Text } {
  const t = d.totals;
  if (t.unknownFail > 0) {
    const nets = d.failingByNetwork.filter((g) => g.unknown).length;
    return {
      severity: t.unknownFail >= 20 ? 'critical' : 'warning',
      title: { en: 'Someone is sending mail as your domain', ja: '第三者があなたのドメインを名乗ってメールを送っています' },
      detail: {
        en: `${t.unknownFail} message(s) from ${t.unknownSources} source(s) you have not authorised (${nets} network(s)) claimed to be from ${d.domains.join(', ')} and failed DMARC.`,
        ja: `許可していない ${t.unknownSources} 件の送信元（${nets} ネットワーク）から、${d.domains.join(', ')} を名乗る ${t.unknownFail} 通のメールが送られ、DMARC に不合格でした。`,
      },
      action: {
        en: 'If these are services you use (newsletter, CRM, ticketing), add them to SPF/DKIM and to dmarc.senders. If not, it is forgery: move the DMARC policy to p=quarantine, then p=reject.',
        ja: '利用中のサービス（メルマガ、CRM、問い合わせ管理など）であれば SPF/DKIM と dmarc.senders に追加してください。心当たりがなければ詐称です。DMARC ポリシーを p=quarantine、その後 p=reject に強めてください。',
      },
    };
  }
  return {
    severity: 'info',
    title: { en: 'No forged mail in the DMARC reports', ja: 'DMARC レポートに詐称メールはありません' },
    detail: {
      en: `${t.messages} message(s) reported, ${t.pass} passed DMARC; no unknown source sent failing mail as your domain.`,
      ja: `報告されたメール ${t.messages} 通のうち ${t.pass} 通が DMARC に合格しました。不明な送信元からの不合格メールはありません。`,
    },
    action: { en: 'Nothing to do.', ja: '対応は不要です。' },
  };
}
