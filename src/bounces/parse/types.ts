// Public types of the bounce parser.
export type BounceReason = 'userunknown' | 'mailboxfull' | 'hostunknown' | 'filtered' | 'rejected' | 'blocked'
  | 'spamdetected' | 'policyviolation' | 'authfailure' | 'badreputation' | 'expired' | 'suspend' | 'systemerror'
  | 'networkerror' | 'mesgtoobig' | 'exceedlimit' | 'toomanyconn' | 'speeding' | 'securityerror' | 'virusdetected'
  | 'contenterror' | 'hasmoved' | 'mailererror' | 'norelaying' | 'notaccept' | 'notcompliantrfc' | 'onhold'
  | 'requireptr' | 'syntaxerror' | 'systemfull' | 'delivered' | 'feedback' | 'vacation' | 'undefined';

export interface BouncedRecipient {
  /** the failed recipient as the report names it (Final-Recipient, or the address in the text) */
  recipient: string;
  /** the address we sent to: Original-Recipient when the report has one, else the recipient */
  sentTo: string;
  /** the final recipient after forwarding/aliasing (Final-Recipient), else the recipient */
  finalRecipient: string;
  reason: BounceReason;
  status: string;
  replyCode: string;
  hard: boolean;
  action: string;
  diagnostic: string;
  feedbackType: string;
  originalMessageId: string;
}

export interface OriginalMessage {
  messageId: string;
  from: string;
  to: string;
  subject: string;
  returnPath: string;
  receivedIps: string[];
  headers: Record<string, string>;
}

export interface ParsedBounce {
  /** 'vacation': an RFC 3834 auto-reply (one record, reason vacation, never a failure); 'challenge': a
   *  challenge/response or whitelist request (no records: nothing failed) */
  kind: 'dsn' | 'arf' | 'vacation' | 'challenge' | 'non-standard' | 'not-a-bounce' | 'unparseable';
  bounces: BouncedRecipient[];
  original: OriginalMessage | null;
  bounce: { from: string; to: string[]; subject: string; date: string | null };
  why?: string;
  /** set (with kind 'unparseable') when the message exceeded the parse budget: which limit */
  overBudget?: 'bytes' | 'lines' | 'parts' | 'depth' | 'time';
}

export interface ParseOptions {
  /** bytes of the raw message at most (default 10 MiB); a larger message is reported unparseable, unread */
  maxBytes?: number;
  /** lines of the raw message at most (default 200,000); more: unparseable */
  maxLines?: number;
  /** MIME parts at most (default 200); more: unparseable */
  maxParts?: number;
  /** multipart nesting depth at most (default 12); deeper: unparseable */
  maxDepth?: number;
  /** bytes of each MIME part that are decoded and inspected at most (default 256 KB) */
  maxPartBytes?: number;
}

/**
 * The normalized per-recipient record every source (DSN, ARF, text layouts) produces.
 * classify() turns it into a reason without knowing where it came from.
 */
export interface RawRecord {
  recipient: string;
  action: string;
  status: string;
  replyCode: string;
  diagnostic: string;
  /** "SMTP", "X-UNIX", "X-POSTFIX", ... from Diagnostic-Code, or '' */
  diagnosticType: string;
  /** last SMTP command of the failed session: CONN, EHLO, HELO, MAIL, RCPT, DATA, or '' */
  command: string;
  /** a reason already decided by the layout (e.g. a carrier-specific phrase), or '' */
  reason: BounceReason | '';
  feedbackType: string;
  /** true when the layout says the failure is temporary */
  temporary?: boolean;
  /** the remote MTA that rejected the message (DSN Remote-MTA or a host named in the text), if known */
  remoteHost?: string;
  /** the MTA that wrote the report (DSN Reporting-MTA), if known */
  localHost?: string;
  /** the address the sender used, when the report names one besides the recipient (Original-Recipient, "expanded from") */
  sentTo?: string;
  /** the final recipient after aliasing/forwarding (Final-Recipient), when the report names one */
  finalRecipient?: string;
}
