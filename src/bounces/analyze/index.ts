// `formwarden analyze PATH...`: the weekly bounce report from mbox / Maildir / .eml files or an IMAP folder.
import { writeFile } from 'node:fs/promises';
import { readMessages } from '../parse/index.js';
import type { Lang } from './labels.js';
import { defaultLang } from '../../i18n/messages.js';
import { analyze, type AnalyzeMessage, type AnalyzeOptions, type Report } from './report.js';
import { renderHtml } from './render-html.js';
import { renderJson, renderText } from './render-text.js';
import { DmarcCollector } from '../../dmarc/analyze/collect.js';
import { analyzeDmarc, type SourceLookup } from '../../dmarc/analyze/section.js';
import { dmarcEvidence } from '../../dmarc/analyze/evidence.js';
import type { StoredDmarcRecord } from '../../dmarc/types.js';

export { analyze, ReportBuilder, dayOf, type AnalyzeMessage, type AnalyzeOptions, type Report, type DayRow } from './report.js';
export { buildFindings, trend, type Finding } from './findings.js';
export { renderText, renderJson } from './render-text.js';
export { renderHtml } from './render-html.js';
export type { Lang, Text } from './labels.js';

export interface RunAnalyzeOptions {
  json?: boolean;
  /** write the HTML report to this file */
  html?: string;
  lang?: Lang;
  ownerDomains?: string[];
  bounceDomain?: string;
  bouncePrefix?: string;
  ownerMailHosts?: string[];
  lookup?: AnalyzeOptions['lookup'];
  /** progress on stderr even when it is not a TTY (default: only on a TTY) */
  progress?: boolean;
  /** progress every this many messages (default 5000) or every 2 s, whichever comes first */
  progressEvery?: number;
  /** stored DMARC records (with --config); reports found among the messages are added to them */
  dmarcRecords?: StoredDmarcRecord[];
  /** the owner's senders (dmarc.senders: CIDRs and addresses, host names already resolved) */
  dmarcSenders?: string[];
  /** ASN / country of a DMARC source (the geo defense's offline databases) */
  dmarcLookup?: SourceLookup;
}

type Out = NodeJS.WritableStream & { isTTY?: boolean };

export { defaultLang };

// The same test as imap/index.ts's isImapUrl: that module (and imapflow, ~25 modules) loads only for an imap:// path.
const isImapUrl = (s: string) => /^imaps?:\/\//i.test(s);

/** Every message of every path, in order; a path that cannot be read is reported and skipped. */
async function* allMessages(paths: string[], err: Out, failed: string[]): AsyncGenerator<AnalyzeMessage> {
  for (const p of paths) {
    try {
      if (isImapUrl(p)) yield* (await import('../imap/index.js')).readImapUrl(p);
      else yield* readMessages([p]);
    } catch (e) {
      const name = isImapUrl(p) ? (await import('../imap/index.js')).redactImapUrl(p) : p;
      failed.push(name);
      err.write(`formwarden: cannot read ${name}: ${(e as Error).message}\n`);
    }
  }
}

export async function runAnalyze(paths: string[], opts: RunAnalyzeOptions, out: Out, err: Out): Promise<number> {
  if (!paths.length) {
    err.write('formwarden analyze: give at least one mbox, Maildir, .eml or imap://user:pass@host/MAILBOX\n');
    return 2;
  }
  const lang = opts.lang ?? defaultLang();
  const showProgress = opts.progress ?? !!err.isTTY;
  const every = opts.progressEvery ?? 5000;
  let lastAt = Date.now();
  let lastN = 0;
  let shown = false;
  const tty = !!err.isTTY;
  const progress = (n: number, bytes: number, final = false) => {
    if (!showProgress) return;
    const now = Date.now();
    if (!final && n - lastN < every && now - lastAt < 2000) return;
    if (final && !shown) return;
    lastAt = now;
    lastN = n;
    shown = true;
    const line = `analyze: ${n} messages, ${(bytes / 1048576).toFixed(1)} MB`;
    err.write(tty ? `\r${line}${final ? '\n' : ''}` : `${line}\n`);
  };
  const failed: string[] = [];
  const aopts: AnalyzeOptions = { ownerDomains: (opts.ownerDomains ?? []).map((d) => d.toLowerCase()), onProgress: (n, b) => progress(n, b) };
  const dmarc = new DmarcCollector();
  if (opts.dmarcRecords) dmarc.preload(opts.dmarcRecords);
  aopts.onNotBounce = (raw) => dmarc.message(raw);
  aopts.dmarc = dmarcEvidence(() => dmarc.records, { authorised: opts.dmarcSenders, lookup: opts.dmarcLookup });
  if (opts.bounceDomain) aopts.bounceDomain = opts.bounceDomain;
  if (opts.bouncePrefix) aopts.bouncePrefix = opts.bouncePrefix;
  if (opts.ownerMailHosts) aopts.ownerMailHosts = opts.ownerMailHosts;
  if (opts.lookup) aopts.lookup = opts.lookup;
  if (!aopts.ownerDomains.length) {
    err.write('formwarden analyze: no owner domain given; the domain each bounce was delivered to is taken as yours\n');
  }
  let report: Report;
  try {
    report = await analyze(allMessages(paths, err, failed), aopts);
  } catch (e) {
    err.write(`formwarden analyze: ${(e as Error).message}\n`);
    return 1;
  }
  progress(report.totals.messages, report.totals.bytes, true);
  if (dmarc.records.length || dmarc.reports || dmarc.refused) {
    report.dmarc = analyzeDmarc(dmarc.records, { authorised: opts.dmarcSenders, lookup: opts.dmarcLookup });
    if (dmarc.refused) err.write(`formwarden analyze: ${dmarc.refused} DMARC report(s) refused (unreadable or hostile; \`formwarden dmarc parse\` says why)\n`);
  }
  if (opts.html) {
    try {
      await writeFile(opts.html, renderHtml(report, lang), 'utf8');
      err.write(`formwarden analyze: HTML report written to ${opts.html}\n`);
    } catch (e) {
      err.write(`formwarden analyze: cannot write ${opts.html}: ${(e as Error).message}\n`);
      failed.push(opts.html);
    }
  }
  out.write(opts.json ? renderJson(report) : renderText(report, lang));
  return failed.length ? 1 : 0;
}
