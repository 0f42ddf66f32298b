// Reading one RFC 7489 aggregate report (the XML of appendix C, and the newer
// `urn:ietf:params:xml:ns:dmarc-2.0` variant) into a DmarcReport, streamed through saxes.
// Hostile input is expected: a report is mailed to the rua address by anyone who likes.
// - No DTD: a DOCTYPE (and so any ENTITY declaration) is refused; an undefined entity is an error. Nothing is
//   ever fetched, nothing expanded.
// - Bounded: at most `maxBytes` of XML (default 64 MiB) and `maxRecords` records (default 100,000); a text
//   we keep is at most MAX_TEXT characters. Over any of them: a DmarcError, nothing is returned.
// - Element names are matched by their local name, so any namespace prefix (or none) reads the same.
// - Results, dispositions and policies are lower-cased; domains lower-cased without a trailing dot; times
//   become ISO 8601 UTC. A count must be a non-negative integer, the report id, the reporter's name and the
//   policy domain must be there, else the whole report is refused.
// - A source_ip that is not an IP address does not lose the record's count: the record is kept with the text
//   as written (at most 64 characters) and `badSourceIp: true`. A valid one is normalised (IPv6 compressed
//   and lower-cased, an IPv4-mapped IPv6 address as IPv4).
import type { Readable } from 'node:stream';
import ipaddr from 'ipaddr.js';
import { SaxesParser } from 'saxes';
import type { DmarcPolicy, DmarcRecord, DmarcReport } from './types.js';

export const DEFAULT_MAX_XML_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_RECORDS = 100_000;
/** Characters kept of one element's text (report id, domain, ...): longer is refused. */
export const MAX_TEXT = 1024;

export type DmarcErrorCode =
  | 'E_DMARC_XML' // not well-formed XML
  | 'E_DMARC_DTD' // a DOCTYPE / ENTITY declaration
  | 'E_DMARC_NOT_REPORT' // well-formed, but not an aggregate report
  | 'E_DMARC_FIELD' // a required field missing or invalid
  | 'E_DMARC_TOO_BIG' // over maxBytes / maxRecords / MAX_TEXT
  | 'E_DMARC_ARCHIVE' // the attachment is not a readable xml / gzip / zip
  | 'E_DMARC_BOMB'; // decompression over the absolute or ratio cap

/** Every refusal of a report: the reason as a code and a message that says what was wrong. */
export class DmarcError extends Error {
  override name = 'DmarcError';
  constructor(readonly code: DmarcErrorCode, message: string, readonly detail: Record<string, number | string> = {}) {
    super(message);
  }
}

export interface ParseDmarcOptions {
  maxBytes?: number;
  maxRecords?: number;
}

interface RecordDraft {
  sourceIp?: string;
  count?: string;
  disposition?: string;
  dkim?: string;
  spf?: string;
  headerFrom?: string;
  envelopeFrom?: string;
  dkimDomains: string[];
  spfDomains: string[];
}

// The elements whose text is kept, by their path below <feedback> (local names).
const KEEP = new Set([
  'report_metadata/org_name', 'report_metadata/email', 'report_metadata/report_id',
  'report_metadata/date_range/begin', 'report_metadata/date_range/end',
  'policy_published/domain', 'policy_published/p', 'policy_published/sp', 'policy_published/pct',
  'policy_published/adkim', 'policy_published/aspf',
  'record/row/source_ip', 'record/row/count',
  'record/row/policy_evaluated/disposition', 'record/row/policy_evaluated/dkim', 'record/row/policy_evaluated/spf',
  'record/identifiers/header_from', 'record/identifiers/envelope_from',
  'record/auth_results/dkim/domain', 'record/auth_results/spf/domain',
]);

const local = (name: string) => {
  const i = name.indexOf(':');
  return i === -1 ? name : name.slice(i + 1);
};
const lower = (s: string | undefined) => (s ?? '').trim().toLowerCase();
const domainOf = (s: string | undefined) => lower(s).replace(/\.$/, '');

/** Unix seconds (as text) -> ISO 8601 UTC without milliseconds. */
function isoFromSeconds(text: string | undefined, what: string): string {
  const t = (text ?? '').trim();
  if (!/^\d{1,12}$/.test(t)) throw new DmarcError('E_DMARC_FIELD', `date_range/${what} is not a Unix time in seconds: "${t.slice(0, 40)}"`);
  const ms = Number(t) * 1000;
  if (ms > 8.64e15) throw new DmarcError('E_DMARC_FIELD', `date_range/${what} is out of range: ${t}`);
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** A normalised IP address, or null when the text is none. */
export function normaliseIp(text: string): string | null {
  const t = text.trim();
  if (!ipaddr.isValid(t)) return null;
  // ipaddr.isValid accepts some legacy IPv4 forms ("1", "0x7f.1"); a report writes four decimal parts.
  if (!t.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(t)) return null;
  try {
    return ipaddr.process(t).toString();
  } catch {
    return null;
  }
}

function finishRecord(d: RecordDraft, n: number): DmarcRecord {
  const rawIp = (d.sourceIp ?? '').trim();
  if (!rawIp) throw new DmarcError('E_DMARC_FIELD', `record ${n}: row/source_ip is missing`);
  const countText = (d.count ?? '').trim();
  if (!/^\d{1,15}$/.test(countText)) throw new DmarcError('E_DMARC_FIELD', `record ${n}: row/count is not a non-negative integer: "${countText.slice(0, 40)}"`);
  const ip = normaliseIp(rawIp);
  const rec: DmarcRecord = {
    sourceIp: ip ?? rawIp.slice(0, 64),
    count: Number(countText),
    disposition: lower(d.disposition),
    dkim: lower(d.dkim),
    spf: lower(d.spf),
    headerFrom: domainOf(d.headerFrom),
    dkimDomains: d.dkimDomains,
    spfDomains: d.spfDomains,
  };
  if (d.envelopeFrom !== undefined && d.envelopeFrom.trim() !== '') rec.envelopeFrom = domainOf(d.envelopeFrom);
  if (ip === null) rec.badSourceIp = true;
  return rec;
}

/**
 * Parse one aggregate report. `input` is the XML (a Buffer, or a stream of its bytes: the output of
 * unpack.ts's openReport, so nothing decompressed is held beyond the parser's state). Throws DmarcError.
 */
export async function parseDmarcXml(input: Buffer | Readable, opts: ParseDmarcOptions = {}): Promise<DmarcReport> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const maxRecords = opts.maxRecords ?? DEFAULT_MAX_RECORDS;
  const parser = new SaxesParser({ xmlns: false, position: false });
  const stack: string[] = []; // local names below the root
  let rootName: string | null = null;
  let keeping: string | null = null; // the path whose text is collected
  let text = '';
  const meta: Record<string, string> = {};
  const policy: Record<string, string> = {};
  const records: DmarcRecord[] = [];
  let rec: RecordDraft | null = null;

  parser.on('doctype', () => {
    throw new DmarcError('E_DMARC_DTD', 'the report has a DOCTYPE (refused: no DTD, no entity declarations)');
  });
  parser.on('error', (e) => {
    throw e;
  });
  parser.on('opentag', (tag) => {
    const name = local(tag.name);
    if (rootName === null) {
      rootName = name;
      if (name !== 'feedback') throw new DmarcError('E_DMARC_NOT_REPORT', `not a DMARC aggregate report: the root element is <${tag.name.slice(0, 40)}>, not <feedback>`);
      return;
    }
    stack.push(name);
    if (stack.length === 1 && name === 'record') {
      if (records.length >= maxRecords) throw new DmarcError('E_DMARC_TOO_BIG', `more than ${maxRecords} records in one report`, { limit: maxRecords });
      rec = { dkimDomains: [], spfDomains: [] };
    }
    const path = stack.join('/');
    keeping = KEEP.has(path) ? path : null;
    text = '';
  });
  const onText = (t: string) => {
    if (keeping === null) return;
    text += t;
    if (text.length > MAX_TEXT) throw new DmarcError('E_DMARC_TOO_BIG', `<${keeping}> is longer than ${MAX_TEXT} characters`, { limit: MAX_TEXT });
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    if (stack.length === 0) return; // the root
    const path = stack.join('/');
    if (keeping === path) {
      if (path.startsWith('report_metadata/')) meta[path.slice('report_metadata/'.length)] ??= text;
      else if (path.startsWith('policy_published/')) policy[path.slice('policy_published/'.length)] ??= text;
      else if (rec) {
        switch (path) {
          case 'record/row/source_ip': rec.sourceIp ??= text; break;
          case 'record/row/count': rec.count ??= text; break;
          case 'record/row/policy_evaluated/disposition': rec.disposition ??= text; break;
          case 'record/row/policy_evaluated/dkim': rec.dkim ??= text; break;
          case 'record/row/policy_evaluated/spf': rec.spf ??= text; break;
          case 'record/identifiers/header_from': rec.headerFrom ??= text; break;
          case 'record/identifiers/envelope_from': rec.envelopeFrom ??= text; break;
          case 'record/auth_results/dkim/domain': if (domainOf(text)) rec.dkimDomains.push(domainOf(text)); break;
          case 'record/auth_results/spf/domain': if (domainOf(text)) rec.spfDomains.push(domainOf(text)); break;
        }
      }
    }
    if (path === 'record' && rec) {
      records.push(finishRecord(rec, records.length + 1));
      rec = null;
    }
    stack.pop();
    keeping = null;
    text = '';
  });

  let bytes = 0;
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let first = true;
  const feed = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > maxBytes) throw new DmarcError('E_DMARC_TOO_BIG', `the report's XML is larger than ${maxBytes} bytes`, { limit: maxBytes });
    let s = decoder.decode(chunk, { stream: true });
    if (first && s.length) {
      first = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    if (s.length) parser.write(s);
  };
  const wrap = (e: unknown): DmarcError => (e instanceof DmarcError ? e : new DmarcError('E_DMARC_XML', `not well-formed XML: ${String((e as Error)?.message ?? e).replace(/\s+/g, ' ').slice(0, 200)}`));

  try {
    if (Buffer.isBuffer(input)) feed(input);
    else {
      for await (const chunk of input as AsyncIterable<Buffer | string>) feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    }
    const tail = decoder.decode();
    if (tail) parser.write(tail);
    parser.close();
  } catch (e) {
    if (!Buffer.isBuffer(input)) input.destroy();
    throw wrap(e);
  }
  if (rootName === null) throw new DmarcError('E_DMARC_NOT_REPORT', 'not a DMARC aggregate report: no XML element');

  const orgName = (meta['org_name'] ?? '').trim();
  const reportId = (meta['report_id'] ?? '').trim();
  const domain = domainOf(policy['domain']);
  const missing = [!orgName && 'report_metadata/org_name', !reportId && 'report_metadata/report_id', !domain && 'policy_published/domain'].filter(Boolean);
  if (missing.length) throw new DmarcError('E_DMARC_FIELD', `not a usable aggregate report: ${missing.join(', ')} missing`);
  const begin = isoFromSeconds(meta['date_range/begin'], 'begin');
  const end = isoFromSeconds(meta['date_range/end'], 'end');
  const pol: DmarcPolicy = { domain, p: lower(policy['p']) };
  if (lower(policy['sp'])) pol.sp = lower(policy['sp']);
  const pct = (policy['pct'] ?? '').trim();
  if (/^\d{1,3}$/.test(pct) && Number(pct) <= 100) pol.pct = Number(pct);
  if (lower(policy['adkim'])) pol.adkim = lower(policy['adkim']);
  if (lower(policy['aspf'])) pol.aspf = lower(policy['aspf']);
  const report: DmarcReport = { orgName, reportId, domain, begin, end, policy: pol, records };
  const email = (meta['email'] ?? '').trim();
  if (email) report.email = email;
  return report;
}
