// Reading DMARC reports out of messages (files, mbox, Maildir, IMAP: bounces/parse/sources.ts and
// bounces/imap/) and storing them. A message may carry several reports; each is parsed and stored on its
// own, so one damaged attachment does not lose the others, and a refused one stores nothing. A source that
// is a bare report (XML, .gz or .zip file) rather than a message is read as one report.
import { open, stat } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import { readMessages } from '../bounces/parse/sources.js';
import type { Database } from '../store/schema.js';
import { findReportAttachments } from './message.js';
import { DEFAULT_MAX_XML_BYTES, DmarcError, parseDmarcXml } from './parse.js';
import { saveDmarcReport } from './store.js';
import type { DmarcReport } from './types.js';
import { openReport, sniffReport, type UnpackOptions } from './unpack.js';

export interface DmarcSourceMessage { file: string; index: number; raw: Buffer }

export interface DmarcIngestCounts {
  /** reports read (parsed) */
  reports: number;
  /** stored for the first time */
  stored: number;
  /** already stored: nothing written */
  duplicates: number;
  /** attachments or files refused (unreadable, hostile, not a report) */
  errors: number;
  /** messages with no report in them */
  skipped: number;
  /** each refusal: where and why (at most 100 kept) */
  failures: { file: string; index: number; attachment: string; code: string; message: string }[];
}

export interface DmarcIngestOptions extends UnpackOptions {
  /** called after a report was stored for the first time (helper B's alerts hang here) */
  onStored?: (r: DmarcReport) => Promise<void>;
  /** told about every refusal as it happens */
  onError?: (f: DmarcIngestCounts['failures'][number]) => void;
  maxRecords?: number;
}

/**
 * The items of files, mbox files and Maildirs (bounces/parse/sources.ts); a file that is itself a report
 * (XML, .gz, .zip: by its first bytes) is one item, read whole up to `maxFileBytes` (default 64 MiB).
 */
export async function* readDmarcSources(paths: string[], opts: { maxFileBytes?: number } = {}): AsyncGenerator<DmarcSourceMessage> {
  const max = opts.maxFileBytes ?? DEFAULT_MAX_XML_BYTES;
  for (const p of paths) {
    const st = await stat(p);
    if (st.isFile()) {
      const fh = await open(p, 'r');
      let raw: Buffer | null = null;
      try {
        const head = Buffer.alloc(16);
        const { bytesRead } = await fh.read(head, 0, 16, 0);
        if (sniffReport(head.subarray(0, bytesRead)) !== null) {
          if (st.size > max) throw new DmarcError('E_DMARC_TOO_BIG', `${p}: larger than ${max} bytes`, { limit: max });
          raw = Buffer.alloc(st.size);
          await fh.read(raw, 0, st.size, 0);
        }
      } finally {
        await fh.close();
      }
      if (raw) {
        yield { file: p, index: 0, raw };
        continue;
      }
    }
    yield* readMessages([p]);
  }
}

/** The report payloads of one source item: its attachments, or itself when it is a bare report. */
export function reportPayloads(raw: Buffer): { name: string; data: Buffer }[] {
  // A message starts with a header line or an mbox "From " line, never with "<" or an archive's magic bytes.
  if (sniffReport(raw) !== null) return [{ name: '', data: raw }];
  return findReportAttachments(raw).map((a) => ({ name: a.name, data: a.data }));
}

/** Parse one payload (xml, gzip or zip). Throws DmarcError. */
export async function readReport(data: Buffer, opts: DmarcIngestOptions = {}): Promise<DmarcReport> {
  let stream;
  try {
    stream = openReport(data, opts);
  } catch (e) {
    if (e instanceof DmarcError) throw e;
    throw new DmarcError('E_DMARC_ARCHIVE', (e as Error).message);
  }
  return parseDmarcXml(stream, { ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}), ...(opts.maxRecords ? { maxRecords: opts.maxRecords } : {}) });
}

/** True when a message carries something that looks like a DMARC report (for routing a shared mailbox). */
export function looksLikeDmarcMessage(raw: Buffer): boolean {
  return reportPayloads(raw).length > 0;
}

export async function ingestDmarc(db: Kysely<Database>, messages: AsyncIterable<DmarcSourceMessage> | Iterable<DmarcSourceMessage>, opts: DmarcIngestOptions = {}): Promise<DmarcIngestCounts> {
  const counts: DmarcIngestCounts = { reports: 0, stored: 0, duplicates: 0, errors: 0, skipped: 0, failures: [] };
  for await (const m of messages) {
    const payloads = reportPayloads(m.raw);
    if (payloads.length === 0) {
      counts.skipped++;
      continue;
    }
    for (const p of payloads) {
      let report: DmarcReport;
      try {
        report = await readReport(p.data, opts);
      } catch (e) {
        counts.errors++;
        const f = { file: m.file, index: m.index, attachment: p.name, code: e instanceof DmarcError ? e.code : 'E_DMARC_XML', message: (e as Error).message };
        if (counts.failures.length < 100) counts.failures.push(f);
        opts.onError?.(f);
        continue;
      }
      counts.reports++;
      const source = p.name ? `${m.file}#${m.index}:${p.name}` : m.index ? `${m.file}#${m.index}` : m.file;
      const r = await saveDmarcReport(db, report, source);
      if (r.stored) {
        counts.stored++;
        await opts.onStored?.(report);
      } else counts.duplicates++;
    }
  }
  return counts;
}
