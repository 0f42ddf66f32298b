// Origin classification of a bounce: did Formwarden send the returned mail (ours), was the owner's
// domain forged by someone else (spoofing / backscatter), was it sent through the owner's own mail
// account or server but not by Formwarden (account: possible takeover), or is it nothing to do with
// the owner (unrelated)? Pure apart from the injected outbox lookup.
import type { ParsedBounce } from '../parse/index.js';
import { all, first, readMessageHeaders, type HeaderPairs, type MessageHeaders } from './headers.js';

export { readMessageHeaders, parseHeaderPairs, type HeaderPairs, type MessageHeaders } from './headers.js';

export interface OutboxRef { outboxId: string; formId: string | null; submissionId: string | null; kind: string }

export interface OriginContext {
  /** domains the owner sends from (mail.from's domain, configured extras); subdomains count too */
  ownerDomains: string[];
  /** VERP domain: the envelope sender is <bouncePrefix>+<token>@<bounceDomain> */
  bounceDomain?: string;
  /** VERP prefix (bounces.verp.prefix); default "bounce" */
  bouncePrefix?: string;
  /** host names of the owner's mail provider when they are not under an owner domain (e.g. "smtp.example-provider.net") */
  ownerMailHosts?: string[];
  /**
   * Looks up a Message-ID (without <>) or a VERP token in our outbox; null when Formwarden never sent it.
   * Without a lookup, Formwarden's own markers (m_... Message-ID + X-Formwarden-Kind, VERP address) decide.
   */
  lookup?(q: { messageId?: string; verpToken?: string }): Promise<OutboxRef | null> | OutboxRef | null;
  /** DMARC aggregate reports of the period, when there are any */
  dmarc?: DmarcEvidenceSource;
}

/** What DMARC aggregate reports say about the days around a bounce (dmarc/analyze/evidence.ts builds it). */
export interface DmarcFacts {
  /** the days looked at, e.g. "2026-03-01..2026-03-03" */
  days: string;
  /** failing messages from sources the owner has not authorised, and how many such sources */
  unknownFail: number;
  unknownSources: number;
  /** the authorised volume jumped on one of the days (dmarc/alerts.ts's rule) */
  jump: { day: string; ratio: number; volume: number } | null;
}

export interface DmarcEvidenceSource {
  /** facts for the bounce's day (YYYY-MM-DD, or null when the bounce has no date); null when no report covers it */
  around(day: string | null): DmarcFacts | null;
}

/** What a classification rests on: the outbox, Formwarden's own markers, the returned headers, DMARC reports. */
export type EvidenceBasis = 'outbox' | 'markers' | 'headers' | 'dmarc';

export interface Advice { en: string; ja: string }

export type OriginKind = 'ours' | 'spoofing' | 'account' | 'unrelated' | 'unknown';

export type Origin = (
  | { kind: 'ours'; ref: OutboxRef; evidence: string[] }
  | { kind: 'spoofing'; evidence: string[]; advice: Advice }
  | { kind: 'account'; evidence: string[]; advice: Advice }
  | { kind: 'unrelated'; evidence: string[] }
  /** the bounce says nothing about the returned mail (no original headers, no Message-ID, no VERP address) */
  | { kind: 'unknown'; evidence: string[] }
) & {
  /** which kinds of evidence the decision used (evidence holds the sentences) */
  basis?: EvidenceBasis[];
};

export const ORIGIN_KINDS: readonly OriginKind[] = ['ours', 'spoofing', 'account', 'unrelated', 'unknown'];

export const SPOOFING_ADVICE: Advice = {
  en: 'Someone forged your domain as the sender and the rejected mail came back to you (backscatter). Formwarden did not send it and your account was not used. Publish an SPF record that ends in "-all", sign your mail with DKIM, and publish DMARC (start with p=quarantine, then p=reject) so receivers reject forged mail instead of bouncing it to you.',
  ja: '第三者があなたのドメインを送信者として詐称し、拒否されたメールがあなたに戻ってきています（バックスキャッター）。Formwarden が送ったものではなく、アカウントが使われた形跡もありません。SPF レコードを「-all」で終わるように公開し、DKIM 署名を有効にし、DMARC（まず p=quarantine、その後 p=reject）を公開してください。受信側が偽装メールを差し戻さずに拒否するようになります。',
};

export const ACCOUNT_ADVICE: Advice = {
  en: 'This mail went out through your own mail account or server, but Formwarden did not send it: your mail account may have been taken over. Change its password now, sign out all sessions, revoke app passwords and API keys you do not recognise, check forwarding rules and filters, and enable two-factor authentication. Ask your mail provider for the login history.',
  ja: 'このメールはあなた自身のメールアカウントまたはメールサーバーから送信されていますが、Formwarden が送ったものではありません。アカウントが乗っ取られている可能性があります。すぐにパスワードを変更し、すべてのセッションからログアウトし、心当たりのないアプリパスワードや API キーを無効にし、転送設定やフィルタを確認し、二要素認証を有効にしてください。メール事業者にログイン履歴を確認してください。',
};

const FW_MESSAGE_ID = /^(m_[0-9a-z]{22})@([^@\s>]+)$/i;
const VERP = /^([A-Za-z0-9._-]{1,64})\+([A-Za-z0-9._=-]{4,200})@([^@\s>]+)$/i;
const MUA = /\b(roundcube|thunderbird|outlook|microsoft office|apple mail|iphone mail|squirrelmail|horde|rainloop|snappymail|sogo|zimbra|mutt|evolution|kmail|claws|becky|airmail|spark|gmail|yahoo mail|webmail|em client|postbox|mailbird|the bat|sylpheed)\b/i;

export function domainOf(addr: string): string {
  const at = addr.lastIndexOf('@');
  return (at === -1 ? addr : addr.slice(at + 1)).replace(/[>\]\s.]+$/, '').toLowerCase();
}

function underAny(host: string, domains: readonly string[]): string | null {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!h) return null;
  for (const d0 of domains) {
    const d = d0.toLowerCase().replace(/^\.|\.$/g, '');
    if (d && (h === d || h.endsWith('.' + d))) return d;
  }
  return null;
}

function addrIn(v: string): string {
  // Linear: no "@" in the local part, and a bare address is only tried where a token starts.
  const m = /<([^<>\s@]*@[^<>\s]+)>/.exec(v) ?? /(?<![^\s<>"',;:()])([^\s<>"',;:()]+@[A-Za-z0-9.-]+)/.exec(v);
  return m?.[1] ?? '';
}

function stripId(v: string): string {
  const m = /<([^<>\s]+)>/.exec(v);
  return (m?.[1] ?? v.trim().split(/\s+/)[0] ?? '').trim();
}

/** One hop of a Received chain. */
export interface Hop { fromHost: string; ip: string; byHost: string; withProto: string; authenticated: boolean; raw: string }

export function parseReceived(v: string): Hop {
  const fromHost = /\bfrom\s+([^\s;()]+)/i.exec(v)?.[1] ?? '';
  const ip = /\[(?:IPv6:)?([0-9a-fA-F.:]+)\]/.exec(v)?.[1] ?? /\(\s*(?:[^\s()]+\s+)?\(?((?:\d{1,3}\.){3}\d{1,3})\)?/.exec(v)?.[1] ?? '';
  const byHost = /\bby\s+([^\s;()]+)/i.exec(v)?.[1] ?? '';
  const withProto = /\bwith\s+([A-Za-z0-9-]+)/i.exec(v)?.[1] ?? '';
  const authenticated = /^(?:E?SMTPS?A|UTF8SMTPS?A|LMTPS?A|HTTPS?)$/i.test(withProto)
    || /authenticated sender:|\(authenticated(?: as| bits=| user)|\bauth(?:enticated)?=|smtp-auth|\bwith HTTP\b|\bvia HTTP\b|webmail/i.test(v);
  return { fromHost: fromHost.toLowerCase(), ip, byHost: byHost.toLowerCase(), withProto, authenticated, raw: v };
}

export function isPrivateIp(ip: string): boolean {
  if (/^(?:10\.|127\.|169\.254\.|192\.168\.|0\.)/.test(ip)) return true;
  const m = /^172\.(\d+)\./.exec(ip);
  if (m && Number(m[1]) >= 16 && Number(m[1]) <= 31) return true;
  if (/^100\.(\d+)\./.test(ip) && Number(ip.split('.')[1]) >= 64 && Number(ip.split('.')[1]) <= 127) return true;
  return /^(?:::1$|fe80:|fc|fd)/i.test(ip);
}

interface AuthResult { method: 'spf' | 'dkim' | 'dmarc'; result: string; domain: string }

/** Results from Authentication-Results, ARC-Authentication-Results and Received-SPF headers. */
export function authResults(h: HeaderPairs | null): AuthResult[] {
  const out: AuthResult[] = [];
  for (const v of [...all(h, 'authentication-results'), ...all(h, 'arc-authentication-results')]) {
    for (const part of v.split(';')) {
      const m = /\b(spf|dkim|dmarc)\s*=\s*([a-z]+)/i.exec(part);
      if (!m) continue;
      const method = m[1]!.toLowerCase() as AuthResult['method'];
      const prop = method === 'spf'
        ? /smtp\.mailfrom=([^\s;]+)/i.exec(part)?.[1] ?? /smtp\.helo=([^\s;]+)/i.exec(part)?.[1]
        : method === 'dkim'
          ? /header\.d=([^\s;]+)/i.exec(part)?.[1] ?? /header\.i=([^\s;]+)/i.exec(part)?.[1]
          : /header\.from=([^\s;]+)/i.exec(part)?.[1];
      out.push({ method, result: m[2]!.toLowerCase(), domain: domainOf(prop ?? '') });
    }
  }
  for (const v of all(h, 'received-spf')) {
    const m = /^\s*([a-z]+)/i.exec(v);
    if (!m) continue;
    const env = /envelope-from=["<]?([^\s;">]+)/i.exec(v)?.[1] ?? /smtp\.mailfrom=([^\s;]+)/i.exec(v)?.[1] ?? /domain of ([^\s;]+)/i.exec(v)?.[1] ?? '';
    out.push({ method: 'spf', result: m[1]!.toLowerCase(), domain: domainOf(env) });
  }
  return out;
}

function dkimDomains(h: HeaderPairs | null): string[] {
  return all(h, 'dkim-signature').map((v) => (/\bd=([^\s;]+)/i.exec(v)?.[1] ?? '').toLowerCase()).filter(Boolean);
}

/** Everything the decision looks at, gathered once. */
export interface OriginFacts {
  messageId: string;
  verpToken: string;
  verpAddress: string;
  fwKind: string;
  senderDomains: string[];
  original: HeaderPairs | null;
  hops: Hop[];
}

function gatherFacts(parsed: ParsedBounce, hdrs: MessageHeaders, ctx: OriginContext): OriginFacts {
  const o = hdrs.original;
  const po = parsed.original;
  const messageId = stripId(first(o, 'message-id')) || po?.messageId || parsed.bounces.find((b) => b.originalMessageId)?.originalMessageId || '';
  // The VERP address is where the DSN was delivered (To, Delivered-To, X-Original-To) and the original's Return-Path.
  // Raw headers first: the parser lower-cases addresses, and a token may be case-sensitive.
  const candidates = [
    ...all(hdrs.outer, 'delivered-to'), ...all(hdrs.outer, 'x-original-to'), ...all(hdrs.outer, 'to'), ...all(hdrs.outer, 'envelope-to'),
    first(o, 'return-path'), po?.headers['return-path'] ?? '', ...parsed.bounce.to, po?.returnPath ?? '',
  ].map(addrIn).filter(Boolean);
  let verpToken = '';
  let verpAddress = '';
  for (const a of candidates) {
    const m = VERP.exec(a);
    if (!m || m[1]!.toLowerCase() !== (ctx.bouncePrefix ?? 'bounce').toLowerCase()) continue;
    const dom = m[3]!.toLowerCase();
    if (ctx.bounceDomain ? dom === ctx.bounceDomain.toLowerCase() : underAny(dom, ctx.ownerDomains)) {
      verpToken = m[2]!;
      verpAddress = a;
      break;
    }
  }
  const fwKind = first(o, 'x-formwarden-kind') || po?.headers['x-formwarden-kind'] || '';
  const from = (addrIn(first(o, 'from')) || po?.from || '').toLowerCase();
  const senders = [from, addrIn(first(o, 'sender')), addrIn(first(o, 'return-path')) || po?.returnPath || ''].filter(Boolean).map((a) => a.toLowerCase());
  const senderDomains = [...new Set(senders.map(domainOf))];
  const received = all(o, 'received');
  if (!received.length && po?.headers.received) received.push(po.headers.received);
  return { messageId, verpToken, verpAddress, fwKind, senderDomains, original: o, hops: received.map(parseReceived) };
}

/**
 * Classify where the mail a bounce returns came from. `raw` (the whole bounce, or readMessageHeaders(raw)
 * when the caller has it already) gives access to every header of the returned original; without it
 * only what the parser kept is used.
 */
export async function classifyOrigin(parsed: ParsedBounce, ctx: OriginContext, raw?: Buffer | string | MessageHeaders): Promise<Origin> {
  const hdrs: MessageHeaders = raw === undefined ? { outer: [], original: null }
    : typeof raw === 'string' || Buffer.isBuffer(raw) ? readMessageHeaders(raw) : raw;
  const f = gatherFacts(parsed, hdrs, ctx);
  const evidence: string[] = [];

  // (a) ours: the outbox knows the Message-ID or the VERP token.
  const fwId = FW_MESSAGE_ID.exec(f.messageId);
  if (ctx.lookup) {
    const q: { messageId?: string; verpToken?: string } = {};
    if (f.messageId) q.messageId = f.messageId;
    if (f.verpToken) q.verpToken = f.verpToken;
    if (q.messageId || q.verpToken) {
      const ref = await ctx.lookup(q);
      if (ref) {
        if (f.verpToken) evidence.push(`envelope sender ${f.verpAddress} carries VERP token ${f.verpToken}`);
        if (f.messageId) evidence.push(`Message-ID <${f.messageId}> of the returned mail`);
        evidence.push(`found in the outbox as ${ref.outboxId} (${ref.kind}${ref.formId ? `, form ${ref.formId}` : ''})`);
        return { kind: 'ours', ref, evidence, basis: ['outbox'] };
      }
      if (fwId || f.verpToken || f.fwKind) evidence.push('looks like a Formwarden message (Message-ID/X-Formwarden-Kind/VERP) but the outbox has no such entry: forged or purged');
    }
  } else if ((fwId && (f.fwKind || underAny(fwId[2]!, ctx.ownerDomains))) || f.verpToken) {
    const kind = f.fwKind || 'unknown';
    if (fwId) evidence.push(`Message-ID <${f.messageId}> has Formwarden's form m_<22 chars>@${fwId[2]}`);
    if (f.fwKind) evidence.push(`X-Formwarden-Kind: ${f.fwKind}`);
    if (f.verpToken) evidence.push(`envelope sender ${f.verpAddress} carries VERP token ${f.verpToken}`);
    evidence.push('no outbox lookup available: decided by Formwarden\'s own markers');
    return { kind: 'ours', ref: { outboxId: fwId?.[1] ?? f.verpToken, formId: null, submissionId: null, kind }, evidence, basis: ['markers'] };
  }

  if (!f.original && !parsed.original) {
    evidence.push('the bounce returns no headers of the original mail');
    return { kind: 'unknown', evidence, basis: [] };
  }
  const owner = f.senderDomains.map((d) => [d, underAny(d, ctx.ownerDomains)] as const).find(([, o]) => o);
  if (!owner) {
    evidence.push(f.senderDomains.length
      ? `sender domain ${f.senderDomains.join(', ')} is not one of the owner's domains (${ctx.ownerDomains.join(', ') || 'none configured'})`
      : 'the returned mail names no sender address');
    return { kind: f.senderDomains.length ? 'unrelated' : 'unknown', evidence, basis: ['headers'] };
  }
  const ownerDomain = owner[1]!;
  evidence.push(`the returned mail claims to be from ${owner[0]} (owner's domain ${ownerDomain}) but Formwarden did not send it`);
  const s = scoreAccountVsSpoof(f, ctx, ownerDomain);
  evidence.push(...s.evidence);
  // DMARC aggregate reports of the bounce's days: the receivers' own count of who sent as the domain.
  const dm = ctx.dmarc?.around(bounceDay(parsed.bounce.date)) ?? null;
  const basis: EvidenceBasis[] = dm ? ['headers', 'dmarc'] : ['headers'];
  if (dm) {
    if (dm.unknownFail > 0) {
      s.spoof += 3;
      evidence.push(`DMARC reports for ${dm.days} show ${dm.unknownFail} failing message(s) from ${dm.unknownSources} source(s) the owner has not authorised: forgery of the domain is confirmed`);
    }
    if (dm.jump) {
      s.account += 3;
      evidence.push(`DMARC reports show the owner's authorised servers sent ${dm.jump.volume} message(s) on ${dm.jump.day}, ${dm.jump.ratio} times their usual volume: evidence of a taken-over account`);
    }
    if (!dm.unknownFail && !dm.jump) evidence.push(`DMARC reports for ${dm.days} show no failing mail from unknown sources and no jump in volume`);
  }
  if (s.account > s.spoof && s.account >= 3) {
    evidence.push(`decision: account (account signals ${s.account} vs forgery signals ${s.spoof})`);
    return { kind: 'account', evidence, advice: ACCOUNT_ADVICE, basis };
  }
  evidence.push(s.account || s.spoof
    ? `decision: spoofing (forgery signals ${s.spoof} vs account signals ${s.account})`
    : 'decision: spoofing (no sign of the owner\'s own servers; forgery is by far the most common cause)');
  return { kind: 'spoofing', evidence, advice: SPOOFING_ADVICE, basis };
}

/** The UTC day of a bounce's Date header (YYYY-MM-DD), null without a usable one. */
function bounceDay(date: string | null | undefined): string | null {
  if (!date) return null;
  const t = Date.parse(date.slice(0, 200).replace(/\([^()]*\)/g, ' '));
  return Number.isNaN(t) ? null : new Date(t).toISOString().slice(0, 10);
}

function scoreAccountVsSpoof(f: OriginFacts, ctx: OriginContext, ownerDomain: string): { account: number; spoof: number; evidence: string[] } {
  const ev: string[] = [];
  let account = 0;
  let spoof = 0;
  const hosts = [...ctx.ownerDomains, ...(ctx.ownerMailHosts ?? [])];
  const o = f.original;
  const forOwner = (d: string) => !d || underAny(d, [ownerDomain]) !== null;
  const ar = authResults(o).filter((r) => forOwner(r.domain));
  for (const r of ar) {
    const label = `${r.method}=${r.result}${r.domain ? ` for ${r.domain}` : ''}`;
    if (r.result === 'pass') {
      const w = r.method === 'dkim' ? 3 : r.method === 'spf' ? 2 : 2;
      account += w;
      ev.push(`${label}: the owner's servers authorised it`);
    } else if (r.result === 'fail' || r.result === 'softfail' || (r.method !== 'spf' && r.result === 'none') || r.result === 'permerror') {
      const w = r.method === 'spf' && r.result === 'fail' ? 3 : r.method === 'dmarc' ? 3 : 2;
      spoof += w;
      ev.push(`${label}: not sent by a server the owner's domain authorises`);
    }
  }
  const dk = dkimDomains(o);
  const ownDk = dk.filter((d) => underAny(d, [ownerDomain]));
  if (ownDk.length && !ar.some((r) => r.method === 'dkim')) { account += 1; ev.push(`DKIM-Signature with d=${ownDk[0]} (not verified here)`); }
  if (o && !ownDk.length && !ar.some((r) => r.method === 'dkim' && r.result === 'pass')) { spoof += 1; ev.push(`no DKIM signature for ${ownerDomain}`); }

  // Received chain: index 0 is the newest hop, the last one is where the mail entered the system.
  const hops = f.hops;
  const authHop = hops.find((h) => h.authenticated);
  if (authHop) { account += 3; ev.push(`authenticated submission: "${authHop.raw.slice(0, 160)}"`); }
  const ownHop = hops.find((h) => underAny(h.byHost, hosts) || underAny(h.fromHost, hosts));
  if (ownHop) { account += 2; ev.push(`passed through the owner's mail host ${underAny(ownHop.byHost, hosts) ? ownHop.byHost : ownHop.fromHost}`); }
  const entry = [...hops].reverse().find((h) => h.ip && !isPrivateIp(h.ip));
  if (entry && !ownHop && !authHop) {
    spoof += 2;
    ev.push(`entered at ${entry.byHost || 'an unknown host'} directly from ${entry.fromHost || 'an unnamed host'} [${entry.ip}], not via the owner's servers`);
  }
  const mua = first(o, 'user-agent') || first(o, 'x-mailer');
  if (mua && MUA.test(mua)) { account += 1; ev.push(`written in a mail program / webmail: ${mua.slice(0, 80)}`); }
  const mid = stripId(first(o, 'message-id')) || f.messageId;
  if (mid) {
    const midHost = mid.slice(mid.lastIndexOf('@') + 1);
    if (underAny(midHost, hosts)) { account += 1; ev.push(`Message-ID <${mid}> was made by the owner's mail system`); }
    else { spoof += 1; ev.push(`Message-ID <${mid}> is not from the owner's mail system`); }
  }
  return { account, spoof, evidence: ev };
}
