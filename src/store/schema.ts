// Table types for Kysely. Timestamps are integer milliseconds since the epoch on both databases,
// so comparisons and arithmetic are the same in SQLite and PostgreSQL.
import type { Generated } from 'kysely';


export interface SubmissionTable {
  id: string;
  form_id: string;
  created_at: number;
  ip: string;
  user_agent: string;
  lang: string;
  /** The visitor's fields as JSON. */
  fields: string;
  /** accept | accept_no_autoreply | quarantine | reject */
  action: string;
  score: number;
  /** The pipeline's verdict (symbols with scores and details) as JSON. */
  verdict: string;
  /** What happened to the auto-reply: queued, skipped:<reason>, cancelled:<reason>, none. */
  autoreply: string;
  /** The owner notification: queued, digest (batched, not yet sent), digested, none. */
  notify: string;
  /** Hash of the normalised visitor text, to spot bursts of similar submissions. */
  content_hash: string;
  /** The normalised address the auto-reply went (or would have gone) to. */
  autoreply_to: string | null;
  /** Refused at the door (no valid token and proof-of-work): the reason symbol; the fields are not stored. Null otherwise. */
  refused?: string | null;
  /** The size of a refused post in bytes (its fields as received); null otherwise. */
  bytes?: number | null;
  /** The short receipt number people read aloud ("K7QD-3M9X"), unique; null for rows stored before migration 011. */
  receipt?: string | null;
  /** The sequence number the receipt is the permutation of (src/submissions/receipt.ts); null for rows older than migration 016. */
  receipt_seq?: number | null;
}

export interface RelayChargeTable {
  key: string;
  outbox_id: string;
  at: number;
}

export interface SuppressionTable {
  address: string;
  /** owner | link | bounce | complaint */
  reason: string;
  note: string;
  created_at: number;
}

export interface BreakerTable {
  /** form:<id> or instance */
  scope: string;
  /** closed | open | half_open */
  state: string;
  reason: string;
  tripped_at: number | null;
  retry_at: number | null;
  updated_at: number;
}

export interface EventTable {
  id: string;
  /** abuse_link | alert | bounce | complaint | breaker */
  kind: string;
  form_id: string | null;
  address: string | null;
  at: number;
  detail: string;
}

export interface OutboxTable {
  id: string;
  submission_id: string | null;
  form_id: string | null;
  /** notify | autoreply | alert | digest | webhook */
  kind: string;
  /** The recipient; for a webhook its target as type:name (never its URL). */
  to_addr: string;
  reply_to: string | null;
  subject: string;
  body: string;
  message_id: string;
  /** pending | sent | dead | cancelled */
  state: string;
  attempts: number;
  next_attempt_at: number;
  locked_until: number | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
  /** The message as it left (capture transport, or a copy of what SMTP accepted). */
  raw: string | null;
  /** capture | smtp | webhook */
  transport: string | null;
}

/** A file sent with a submission (migration 010, docs/attachments.md). */
export interface AttachmentTable {
  id: string;
  submission_id: string;
  field: string;
  /** Cleaned, for display only. */
  filename: string;
  /** Sniffed from the bytes. */
  content_type: string;
  size: number;
  sha256: string;
  data: Buffer;
  created_at: number;
}

export interface SecretTable {
  name: string;
  value: string;
  created_at: number;
}

export interface Database {
  submissions: SubmissionTable;
  outbox: OutboxTable;
  attachments: AttachmentTable;
  secrets: SecretTable;
  relay_charges: RelayChargeTable;
  suppressions: SuppressionTable;
  breakers: BreakerTable;
  link_uses: { id: string; used_at: number };
  events: EventTable;
  ip_rules: IpRuleTable;
  bans: { key: string; until_at: number; level: number; expires_at: number };
  kv: { key: string; value: string; updated_at: number };
  console_users: ConsoleUserTable;
  console_sessions: ConsoleSessionTable;
  console_audit: ConsoleAuditTable;
  dmarc_reports: DmarcReportTable;
  dmarc_records: DmarcRecordTable;
}

/** A DMARC aggregate report (migration 014, src/dmarc/store.ts). Times in ms. */
export interface DmarcReportTable {
  id: Generated<number>;
  org_name: string;
  report_id: string;
  domain: string;
  email: string | null;
  begin_at: number;
  end_at: number;
  /** the published policy as JSON (DmarcPolicy) */
  policy: string;
  /** rows in the report */
  records: number;
  /** the sum of their counts */
  messages: number;
  /** where it was read: a file name, an IMAP mailbox (without its password) */
  source: string;
  created_at: number;
}

/** One source row of a DMARC report. */
export interface DmarcRecordTable {
  id: Generated<number>;
  /** dmarc_reports.id */
  report: number;
  source_ip: string;
  /** 1 when source_ip is the text as written, not an IP address */
  bad_source_ip: number;
  count: number;
  disposition: string;
  dkim: string;
  spf: string;
  header_from: string;
  envelope_from: string | null;
  /** JSON arrays of domains */
  dkim_domains: string;
  spf_domains: string;
}

/** An account of the owner's console (migration 012, docs/admin.md). */
export interface ConsoleUserTable {
  id: string;
  /** Lower-cased. */
  email: string;
  /** owner | member */
  role: string;
  /** A member's forms as a JSON array of ids; '[]' for an owner (every form). */
  forms: string;
  /** scrypt$N$r$p$salt$hash (src/admin/passwords.ts). */
  password_hash: string;
  /** Base32 TOTP secret when the second factor is on. */
  totp_secret: string | null;
  created_at: number;
  updated_at: number;
}

export interface ConsoleSessionTable {
  /** SHA-256 (hex) of the cookie's token. */
  id: string;
  user_id: string;
  csrf: string;
  created_at: number;
  seen_at: number;
  expires_at: number;
  ip: string;
  user_agent: string;
}

export interface ConsoleAuditTable {
  id: string;
  at: number;
  user_id: string | null;
  email: string;
  /** login | login_failed | logout | release | spam | delete | block | ... */
  action: string;
  target: string;
  detail: string;
}

export interface IpRuleTable {
  cidr: string;
  /** block | allow */
  list: string;
  expires_at: number | null;
  note: string;
  created_at: number;
}
