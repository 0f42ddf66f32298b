// The report attachments of one email, found with the bounce parser's MIME primitives (bounces/parse/
// headers.ts and mime.ts: one MIME reader in the house). A part is a report when its content type is
// application/zip, application/gzip, application/x-gzip, text/xml or application/xml (and the x-zip
// spellings), or its file name ends in .xml, .xml.gz, .gz or .zip. The whole message may be the report
// (a non-multipart mail whose body is the attachment). Bounded: nesting depth, part count, bytes decoded.
import { findHeaderEnd, getHeader, parseContentType, parseHeaderBlock, decodeHeaderValue, type HeaderList } from '../bounces/parse/headers.js';
import { decodeTransfer, splitMultipart } from '../bounces/parse/mime.js';

export interface ReportAttachment {
  /** the file name as the sender gave it ('' when none) */
  name: string;
  contentType: string;
  data: Buffer;
}

export interface FindOptions {
  /** bytes decoded per attachment at most (default 10 MB: a compressed report is far smaller) */
  maxPartBytes?: number;
  maxDepth?: number;
  maxParts?: number;
}

const REPORT_TYPES = new Set([
  'application/zip', 'application/x-zip', 'application/x-zip-compressed', 'application/gzip', 'application/x-gzip',
  'application/x-gunzip', 'text/xml', 'application/xml',
]);
const REPORT_NAME = /\.(xml|xml\.gz|gz|zip)$/i;

function fileName(h: HeaderList, ctParams: Record<string, string>): string {
  const disp = parseContentType('x/x;' + (getHeader(h, 'content-disposition').replace(/^[^;]*/, '') || ''));
  let n = disp.params['filename'] ?? ctParams['name'] ?? '';
  // RFC 2231: charset'lang'percent-encoded
  const m = /^([A-Za-z0-9_-]*)'[^']*'(.*)$/.exec(n);
  if (m) {
    try { n = decodeURIComponent(m[2] ?? ''); } catch { n = m[2] ?? ''; }
  }
  return decodeHeaderValue(n).trim();
}

export function isReportPart(contentType: string, name: string): boolean {
  return REPORT_TYPES.has(contentType) || REPORT_NAME.test(name);
}

/** The report attachments of a message (raw bytes as read from the mailbox). */
export function findReportAttachments(raw: Buffer, opts: FindOptions = {}): ReportAttachment[] {
  const maxPart = opts.maxPartBytes ?? 10 * 1024 * 1024;
  const maxDepth = opts.maxDepth ?? 5;
  const maxParts = opts.maxParts ?? 50;
  const s = raw.toString('latin1').replace(/\r\n/g, '\n');
  const out: ReportAttachment[] = [];
  let parts = 0;
  const walk = (h: HeaderList, body: string, depth: number) => {
    if (++parts > maxParts) return;
    const ct = parseContentType(getHeader(h, 'content-type') || 'text/plain');
    if (ct.type.startsWith('multipart/')) {
      if (depth >= maxDepth || !ct.params['boundary']) return;
      for (const p of splitMultipart(body, ct.params['boundary'], maxParts + 1) ?? []) {
        const [hEnd, bStart] = findHeaderEnd(p, 0);
        walk(parseHeaderBlock(p.slice(0, hEnd)), p.slice(bStart), depth + 1);
      }
      return;
    }
    const name = fileName(h, ct.params);
    if (!isReportPart(ct.type, name)) return;
    const data = Buffer.from(decodeTransfer(body, getHeader(h, 'content-transfer-encoding'), maxPart), 'latin1');
    out.push({ name, contentType: ct.type, data: data.length > maxPart ? data.subarray(0, maxPart) : data });
  };
  const [hEnd, bStart] = findHeaderEnd(s, 0);
  walk(parseHeaderBlock(s.slice(0, hEnd)), s.slice(bStart), 0);
  return out;
}
