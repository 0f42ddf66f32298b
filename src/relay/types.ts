// Structural views of the parts of a form config that the relay checks read.
// The zod-parsed config type must stay assignable to RelayFormView.

export type RelayFieldType =
  | 'text'
  | 'email'
  | 'tel'
  | 'url'
  | 'textarea'
  | 'select'
  | 'checkbox'
  | 'radio'
  | 'hidden'
  | 'file';

export interface RelayFieldView {
  readonly name: string;
  readonly type: RelayFieldType;
}

/** A rolling-window budget: at most `count` mails per `windowSeconds`. */
export interface CapWindowView {
  readonly count: number;
  readonly windowSeconds: number;
}

/**
 * Per-form cap overrides. A missing key means "use the default";
 * null means "this cap is off". `caps: null` on the auto-reply turns every
 * form-level cap off (global caps still apply).
 */
export interface RelayCapsView {
  readonly perAddress?: CapWindowView | null | undefined;
  readonly perDomain?: CapWindowView | null | undefined;
  readonly perFormHour?: number | null | undefined;
  readonly perFormDay?: number | null | undefined;
}

export type EchoMode = 'none' | 'sanitized';

export interface RelayAutoreplyView {
  readonly enabled: boolean;
  /** Name of the field holding the visitor's address (normally 'email'). */
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  readonly echo: EchoMode;
  readonly caps?: RelayCapsView | null | undefined;
}

export interface RelayFormView {
  readonly id: string;
  readonly fields: readonly RelayFieldView[];
  readonly notify: {
    readonly to: readonly string[];
    readonly subject: string;
    /** Optional: the server falls back to a default listing every field. */
    readonly body?: string | undefined;
  };
  readonly autoreply?: RelayAutoreplyView | null | undefined;
}

export interface LintIssue {
  severity: 'error' | 'warning';
  /** Config path, e.g. forms[contact].autoreply.body */
  path: string;
  /** Stable machine code, e.g. E_AUTOREPLY_ECHO */
  code: string;
  message: string;
}
