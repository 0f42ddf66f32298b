// The shapes of an RFC 7489 aggregate report as Formwarden reads, stores and analyses it. One contract for
// the parser (parse.ts), the store (store.ts), the CLI and the analysis (analyze/); see docs/dmarc.md.

/** The policy the domain owner published, as the reporter saw it (`<policy_published>`). */
export interface DmarcPolicy {
  domain: string;
  /** p= : none | quarantine | reject (as written by the reporter, lower-cased) */
  p: string;
  sp?: string;
  pct?: number;
  adkim?: string;
  aspf?: string;
}

/** One `<record>`: a source address and what the receiver concluded for `count` messages from it. */
export interface DmarcRecord {
  sourceIp: string;
  count: number;
  /** none | quarantine | reject: what the receiver did (`policy_evaluated/disposition`) */
  disposition: string;
  /** DMARC-aligned DKIM result: pass | fail (`policy_evaluated/dkim`) */
  dkim: string;
  /** DMARC-aligned SPF result: pass | fail (`policy_evaluated/spf`) */
  spf: string;
  headerFrom: string;
  envelopeFrom?: string;
  /** d= of every DKIM signature checked (`auth_results/dkim/domain`), in report order */
  dkimDomains: string[];
  /** domains SPF was checked for (`auth_results/spf/domain`) */
  spfDomains: string[];
  /** `source_ip` was not an IP address: `sourceIp` holds the text as written (at most 64 characters) */
  badSourceIp?: boolean;
}

export interface DmarcReport {
  orgName: string;
  email?: string;
  reportId: string;
  /** the policy domain (`policy_published/domain`) */
  domain: string;
  /** report period, ISO 8601 UTC (from `date_range/begin` and `end`, Unix seconds) */
  begin: string;
  end: string;
  policy: DmarcPolicy;
  records: DmarcRecord[];
}

/** A stored record with its report's identity, as the analysis reads it back. */
export interface StoredDmarcRecord extends DmarcRecord {
  orgName: string;
  reportId: string;
  domain: string;
  begin: string;
  end: string;
}

/** A record passes DMARC when either aligned result passed. */
export function dmarcPass(r: Pick<DmarcRecord, 'dkim' | 'spf'>): boolean {
  return r.dkim === 'pass' || r.spf === 'pass';
}
