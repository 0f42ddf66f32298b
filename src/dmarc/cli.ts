// `formwarden dmarc parse [--json] PATH...` and `formwarden dmarc import PATH...|imap://...`.
// A PATH is a report (.xml, .xml.gz, .zip), a message (.eml), an mbox or a Maildir. `parse` prints one JSON
// line per report (or a table); `import` stores them in the configured database. Every text that comes from
// a report is printed with the characters a terminal acts on shown as escapes. Errors go to stderr, one line
// per refused report; the exit status is 1 when any was refused or unreadable.
import { isImapUrl, readImapUrl, redactImapUrl } from '../bounces/imap/index.js';
import { jsonTerminalSafe, terminalSafe } from '../util/terminal-safe.js';
import { type DmarcSourceMessage, ingestDmarc, readDmarcSources, readReport, reportPayloads } from './ingest.js';
import { DmarcError } from './parse.js';
import type { DmarcReport } from './types.js';

export interface CliStreams { out: NodeJS.WritableStream; err: NodeJS.WritableStream }

const t = (s: string) => terminalSafe(s, { tabs: false });

function jsonLine(file: string, r: DmarcReport): string {
  const obj = {
    file, orgName: r.orgName, reportId: r.reportId, domain: r.domain, begin: r.begin, end: r.end, policy: r.policy,
    records: r.records.map((x) => ({
      sourceIp: x.sourceIp, count: x.count, disposition: x.disposition, dkim: x.dkim, spf: x.spf, headerFrom: x.headerFrom,
      dkimDomains: x.dkimDomains, spfDomains: x.spfDomains,
      ...(x.envelopeFrom !== undefined ? { envelopeFrom: x.envelopeFrom } : {}),
      ...(x.badSourceIp ? { badSourceIp: true } : {}),
    })),
  };
  return jsonTerminalSafe(JSON.stringify(obj)) + '\n';
}

function textBlock(file: string, r: DmarcReport): string {
  const head = `${t(file)}\n  ${t(r.orgName)}  report ${t(r.reportId)}  domain ${t(r.domain)}  p=${t(r.policy.p) || '-'}  ${r.begin} .. ${r.end}\n`;
  const rows = r.records.map((x) => [x.sourceIp, String(x.count), x.disposition || '-', x.dkim || '-', x.spf || '-', x.headerFrom || '-', x.dkimDomains.join(',') || '-', x.spfDomains.join(',') || '-'].map(t));
  const header = ['source', 'count', 'disposition', 'dkim', 'spf', 'header_from', 'dkim_domains', 'spf_domains'];
  const widths = header.map((h, i) => Math.min(40, Math.max(h.length, ...rows.map((row) => row[i]!.length))));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n';
  return head + line(header) + rows.map(line).join('') + (rows.length === 0 ? '  (no records)\n' : '');
}

function describe(m: DmarcSourceMessage, name: string): string {
  return `${m.file}${m.index ? `#${m.index}` : ''}${name ? `:${name}` : ''}`;
}

async function* sourcesOf(targets: string[], err: NodeJS.WritableStream, failed: { n: number }): AsyncGenerator<DmarcSourceMessage> {
  for (const p of targets) {
    try {
      if (isImapUrl(p)) yield* readImapUrl(p);
      else yield* readDmarcSources([p]);
    } catch (e) {
      failed.n++;
      err.write(`formwarden: cannot read ${t(isImapUrl(p) ? redactImapUrl(p) : p)}: ${t((e as Error).message)}\n`);
    }
  }
}

export async function runDmarcParse(paths: string[], opts: { json: boolean }, s: CliStreams): Promise<number> {
  const failed = { n: 0 };
  for await (const m of sourcesOf(paths, s.err, failed)) {
    for (const p of reportPayloads(m.raw)) {
      const where = describe(m, p.name);
      try {
        const r = await readReport(p.data);
        s.out.write(opts.json ? jsonLine(where, r) : textBlock(where, r));
      } catch (e) {
        failed.n++;
        const code = e instanceof DmarcError ? `${e.code}: ` : '';
        s.err.write(`formwarden: ${t(where)}: ${code}${t((e as Error).message)}\n`);
      }
    }
  }
  return failed.n ? 1 : 0;
}

/** Store the reports of PATHs / imap:// URLs in the database of the configuration. */
export async function runDmarcImport(configPath: string | undefined, targets: string[], s: CliStreams): Promise<number> {
  const { withDb } = await import('../cli/data.js');
  const failed = { n: 0 };
  const { loadConfig } = await import('../config/load.js');
  const { parseFrom } = await import('../mail/message.js');
  const { dmarcAlertHook } = await import('./alerts.js');
  const { geoSourceLookup } = await import('./analyze/geo.js');
  const { systemClock } = await import('../util/clock.js');
  const { config } = loadConfig(configPath);
  const counts = await withDb(configPath, (db) =>
    ingestDmarc(db.kysely, sourcesOf(targets, s.err, failed), {
      onError: (f) => s.err.write(`formwarden: ${t(`${f.file}${f.index ? `#${f.index}` : ''}${f.attachment ? `:${f.attachment}` : ''}`)}: ${f.code}: ${t(f.message)}\n`),
      // Alerts (docs/dmarc.md): queued in the outbox (the server's worker sends them) and posted to alerts.webhook.
      onStored: dmarcAlertHook({ db: db.kysely, config, clock: systemClock, fromAddress: parseFrom(config.mail.from)?.address ?? 'formwarden@localhost', lookup: geoSourceLookup(config.defenses.geo) }),
    }),
  );
  s.out.write(`reports ${counts.reports}, stored ${counts.stored}, already stored ${counts.duplicates}, refused ${counts.errors}, messages without a report ${counts.skipped}\n`);
  return failed.n || counts.errors ? 1 : 0;
}
