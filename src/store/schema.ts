// Table types for Kysely. Timestamps are integer milliseconds since the epoch on both databases,
// so comparisons and arithmetic are the same in SQLite and PostgreSQL.


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
  /** What happened to the auto-reply: queued, skipped:<reason>, none. */
  autoreply: string;
}

export interface OutboxTable {
  id: string;
  submission_id: string | null;
  form_id: string | null;
  /** notify | autoreply | alert | digest */
  kind: string;
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
  /** capture | smtp */
  transport: string | null;
}

export interface SecretTable {
  name: string;
  value: string;
  created_at: number;
}

export interface Database {
  submissions: SubmissionTable;
  outbox: OutboxTable;
  secrets: SecretTable;
}
