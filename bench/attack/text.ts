// Seeded text for the simulator: genuine visitors' Japanese inquiries, bots' spam and victim lists,
// and the header-injection payloads. Same seed, same text.

/** mulberry32: a small seeded PRNG (deterministic content; timing still varies). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const FAMILY = ['佐藤', '鈴木', '高橋', '田中', '伊藤', '渡辺', '山本', '中村', '小林', '加藤', '吉田', '山田', '松本', '井上', '木村', '清水'];
const GIVEN = ['太郎', '花子', '一郎', '美咲', '健太', '陽子', '翔太', '由美', '大輔', '真理子', '拓也', 'さくら', '直樹', '恵', '亮', '千尋'];
const OPENERS = ['お世話になっております。', 'はじめてご連絡いたします。', '突然のご連絡失礼いたします。', 'いつも楽しく拝見しております。', '先日はありがとうございました。'];
const TOPICS = [
  '御社の商品「{item}」について、{n}個の見積もりをお願いできますでしょうか。',
  '先週注文した{item}がまだ届いておりません。注文番号は{order}です。配送状況を教えていただけますか。',
  '{item}の在庫はございますか。{city}の店舗で受け取ることは可能でしょうか。',
  '{city}で{n}名の研修を検討しております。{item}の導入事例があれば資料をいただけますか。',
  '購入した{item}の使い方について質問があります。説明書の{n}ページの手順がよく分かりませんでした。',
  '{item}を返品したいのですが、手続きの方法を教えてください。購入日は{n}日前です。',
];
const ITEMS = ['ステンレス製ケトル', '木製デスク', '有機緑茶セット', '防水リュック', '電動歯ブラシ', '炊飯器', '加湿器', '登山用ジャケット'];
const CITIES = ['東京', '大阪', '名古屋', '札幌', '福岡', '仙台', '広島', '京都'];
/** Stock phrases: an owner's own auto-reply template may use them, so they are not searched for. */
export const CLOSERS = ['どうぞよろしくお願いいたします。', 'お忙しいところ恐れ入りますが、ご確認のほどよろしくお願いいたします。', 'ご返信をお待ちしております。'];

export interface Typed {
  name: string;
  email: string;
  message: string;
}

/** A genuine visitor: a Japanese name and a distinct, polite inquiry of a few sentences. */
export function genuineVisitor(seed: number, i: number): Typed {
  const r = rng(seed * 7919 + i);
  const fill = (s: string) =>
    s
      .replace('{item}', pick(r, ITEMS))
      .replace('{city}', pick(r, CITIES))
      .replace('{n}', String(2 + Math.floor(r() * 40)))
      .replace('{order}', `A${100000 + Math.floor(r() * 899999)}`);
  const family = pick(r, FAMILY);
  const given = pick(r, GIVEN);
  const message = [`${pick(r, OPENERS)}${family}と申します。`, fill(pick(r, TOPICS)), `（お問い合わせ番号 ${seed}-${i + 1}）`, pick(r, CLOSERS)].join('\r\n');
  return { name: `${family} ${given}`, email: `${['taro', 'hanako', 'k.sato', 'm-tanaka', 'yumi'][i % 5]}${i + 1}@mail${i % 37}.example.jp`, message };
}

/** Marks every bot string, so that any of it found in a stranger's mail is unmistakable. */
export const BOT_MARK = 'FWATK';

/** A spam message with a unique marker and URL (the URL is what a spammer wants delivered). */
export function spam(seed: number, scenario: string, i: number): { name: string; message: string; url: string } {
  const id = `${BOT_MARK}${scenario.slice(0, 3).toUpperCase()}${seed}x${i}`;
  const url = `https://cheap-${id.toLowerCase()}.spam-shop.example.ru/buy?ref=${id}`;
  return {
    name: `Winner ${id}`,
    message: `Congratulations ${id}! You have been selected. Claim your prize at ${url} before it expires. 今すぐ ${url} へ`,
    url,
  };
}

/** Victim-list addresses: distinct people across many domains. */
export function victim(seed: number, i: number, domains = 100): string {
  return `person${seed}.${i}@victim-${i % domains}.example.com`;
}

/** Header-injection and SMTP-smuggling payloads; any recipient at injected.example is a leak. */
export const INJECTED_DOMAIN = 'injected.example';
export function injectionPayload(i: number, seed: number): Typed {
  const tag = `${BOT_MARK}INJ${seed}x${i}`;
  const inj = (n: number) => `inj${n}.${seed}.${i}@${INJECTED_DOMAIN}`;
  const base = { name: `Inj ${tag}`, email: `target${seed}.${i}@victim-inj.example.com`, message: `Header test ${tag} https://${tag.toLowerCase()}.spam-shop.example.ru/` };
  const variants: Typed[] = [
    { ...base, name: `${tag}\r\nBcc: ${inj(1)}` },
    { ...base, email: `${base.email}\r\nBcc: ${inj(2)}` },
    { ...base, email: `${base.email},${inj(3)}` },
    { ...base, email: `"${tag}" <${inj(4)}>` },
    { ...base, message: `${tag}\r\n.\r\nMAIL FROM:<${inj(5)}>\r\nRCPT TO:<${inj(5)}>\r\nDATA\r\nSubject: ${tag}\r\n\r\nsmuggled ${tag}\r\n.\r\n` },
    { ...base, name: `${tag}\nSubject: ${tag} injected\nContent-Type: text/html`, email: `${base.email}%0d%0aBcc:${inj(6)}` },
    { ...base, email: `${inj(7)}\n` },
    { ...base, name: `=?UTF-8?B?${Buffer.from(`x\r\nBcc: ${inj(8)}`).toString('base64')}?= ${tag}` },
  ];
  return variants[i % variants.length]!;
}

/** The strings to look for in a stranger's mail: whole values, their long lines, URLs and markers. */
export function needlesOf(fields: Record<string, string>, skip: readonly string[] = ['email']): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(fields)) {
    if (skip.includes(k) || k.startsWith('_') || k === 'altcha') continue;
    const value = v.trim().replace(/\r\n/g, '\n'); // mail text is compared with LF line ends
    if (value.length >= 4) out.add(value);
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 8) out.add(line.trim());
    for (const m of value.matchAll(/https?:\/\/[^\s]+/g)) out.add(m[0]);
    for (const m of value.matchAll(new RegExp(`${BOT_MARK}[A-Z]{3}\\d+x\\d+`, 'g'))) out.add(m[0]);
  }
  return [...out];
}
