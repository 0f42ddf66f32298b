// Static checks that keep a form's mail from becoming a spam relay:
// visitor text in auto-replies, visitor-chosen notification recipients,
// auto-replies aimed at non-address fields, unknown placeholders.

import { isLiteralAddress } from './address.js';
import { capProblems, hasFormLevelCap, resolveCapPolicy } from './caps.js';
import { SYSTEM_PLACEHOLDERS, isSystemPlaceholder, scanTemplate } from './placeholders.js';
import type { LintIssue, RelayAutoreplyView, RelayFormView } from './types.js';

const SYSTEM_LIST = SYSTEM_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ');

/** Field types whose value is contact data as a whole: never echoed, even sanitized. */
const CONTACT_FIELD_TYPES: ReadonlySet<string> = new Set(['email', 'tel', 'url']);

/** Config path prefix of a form, e.g. forms[contact]. */
export const formPath = (form: RelayFormView): string => `forms[${form.id}]`;

/** Field names of the form (visitor-controlled, hidden fields included). */
function fieldNames(form: RelayFormView): Set<string> {
  return new Set(form.fields.map((f) => f.name));
}

/**
 * Visitor fields a template uses, in first-seen order. A field that shares a
 * system placeholder's name counts as a visitor field: the visitor supplies it.
 */
export function visitorFieldsIn(template: string, form: RelayFormView): string[] {
  const fields = fieldNames(form);
  return [...new Set(scanTemplate(template).refs.map((r) => r.name).filter((n) => fields.has(n)))];
}

function templateSyntax(template: string, path: string, fields: Set<string>, out: LintIssue[]): void {
  const scan = scanTemplate(template);
  const seenUnknown = new Set<string>();
  for (const r of scan.refs) {
    if (fields.has(r.name) || isSystemPlaceholder(r.name) || seenUnknown.has(r.name)) continue;
    seenUnknown.add(r.name);
    out.push({
      severity: 'error',
      path,
      code: 'E_UNKNOWN_PLACEHOLDER',
      message:
        `${path} uses the unknown placeholder {{${r.name}}}: it is neither a field of this form nor a system placeholder ` +
        `(${SYSTEM_LIST}). Fix: correct the name or add the field to the form.`,
    });
  }
  for (const r of scan.malformed) {
    out.push({
      severity: 'error',
      path,
      code: 'E_TEMPLATE_SYNTAX',
      message:
        `${path} contains ${r.raw}, which is not a plain placeholder: only {{name}} (spaces allowed inside the braces) is supported. ` +
        `Fix: write {{name}} or remove the braces.`,
    });
  }
  if (scan.unclosed.length > 0) {
    out.push({
      severity: 'warning',
      path,
      code: 'W_TEMPLATE_UNCLOSED',
      message: `${path} has a "{{" that is never closed; it is sent as literal text. Fix: close it with "}}" or remove it.`,
    });
  }
}

function lintNotify(form: RelayFormView, out: LintIssue[]): void {
  const base = `${formPath(form)}.notify`;
  const fields = fieldNames(form);
  const lowerFields = new Map(form.fields.map((f) => [f.name.toLowerCase(), f.name]));
  if (form.notify.to.length === 0) {
    out.push({
      severity: 'error',
      path: `${base}.to`,
      code: 'E_NOTIFY_TO_EMPTY',
      message: `${base}.to is empty: every inquiry would be dropped. Fix: list the owner's addresses in notify.to.`,
    });
  }
  form.notify.to.forEach((entry, i) => {
    const path = `${base}.to[${i}]`;
    const v = entry.trim();
    const scan = scanTemplate(v);
    const visitorRef = scan.refs.find((r) => fields.has(r.name));
    const field = visitorRef?.name ?? lowerFields.get(v.toLowerCase());
    if (field !== undefined) {
      out.push({
        severity: 'error',
        path,
        code: 'E_NOTIFY_TO_VISITOR',
        message:
          `${path} comes from the visitor field ${field}: a notification recipient must be an address you own, never one typed into the form. ` +
          `Fix: list the owner's addresses in notify.to; the visitor's address is already set as Reply-To.`,
      });
    } else if (scan.refs.length + scan.malformed.length + scan.unclosed.length > 0) {
      out.push({
        severity: 'error',
        path,
        code: 'E_NOTIFY_TO_PLACEHOLDER',
        message:
          `${path} is a placeholder (${v}): a notification recipient must be a literal address you own. ` +
          `Fix: list the owner's addresses in notify.to.`,
      });
    } else if (!isLiteralAddress(v)) {
      out.push({
        severity: 'error',
        path,
        code: 'E_NOTIFY_TO_INVALID',
        message: `${path} (${JSON.stringify(entry)}) is not an email address. Fix: write a full address such as owner@example.com.`,
      });
    }
  });
  // Any visitor field is fine in the notification text: it goes to the owner.
  templateSyntax(form.notify.subject, `${base}.subject`, fields, out);
  templateSyntax(form.notify.body ?? '', `${base}.body`, fields, out);
}

function lintAutoreply(form: RelayFormView, ar: RelayAutoreplyView, out: LintIssue[]): void {
  const base = `${formPath(form)}.autoreply`;
  const fields = fieldNames(form);
  // A disabled auto-reply sends nothing; report so enabling it is not a surprise.
  const severity = ar.enabled ? 'error' : 'warning';
  const start = out.length;

  // Recipient: must be the form's email-typed field, which the server validates as one address.
  const to = ar.to.trim();
  const target = form.fields.find((f) => f.name === to);
  const braced = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(to);
  if (braced) {
    out.push({
      severity: 'error',
      path: `${base}.to`,
      code: 'E_AUTOREPLY_TO_FORMAT',
      message: `${base}.to is ${to}, but it takes a field name, not a placeholder. Fix: write autoreply.to: ${braced[1]}.`,
    });
  } else if (!target) {
    out.push({
      severity: 'error',
      path: `${base}.to`,
      code: 'E_AUTOREPLY_TO_UNKNOWN_FIELD',
      message:
        `${base}.to is "${to}", which is not a field of this form. ` +
        `Fix: set autoreply.to to the name of the form's email field (for example email).`,
    });
  } else if (target.type !== 'email') {
    out.push({
      severity: 'error',
      path: `${base}.to`,
      code: 'E_AUTOREPLY_TO_NOT_EMAIL',
      message:
        `${base}.to names the field ${to} of type ${target.type}: an auto-reply can only go to a field of type email, which is validated as a single address. ` +
        `Fix: point autoreply.to at an email field.`,
    });
  }

  // Files go to the owner only: an auto-reply may not name, list or carry them, whatever the echo mode.
  const fileFields = new Set(form.fields.filter((f) => f.type === 'file').map((f) => f.name));
  for (const [part, template] of [['subject', ar.subject], ['body', ar.body]] as const) {
    for (const field of visitorFieldsIn(template, form).filter((n) => fileFields.has(n))) {
      out.push({
        severity: 'error',
        path: `${base}.${part}`,
        code: 'E_AUTOREPLY_FILE_FIELD',
        message:
          `${base}.${part} uses the file field {{${field}}}: files a visitor sends go to the owner only, and the auto-reply goes to whatever address was typed. ` +
          `Fix: remove {{${field}}} from the auto-reply; the files reach you with the notification.`,
      });
    }
  }
  const nonFile = (names: string[]) => names.filter((n) => !fileFields.has(n));

  // Subject: never visitor text, whatever the echo mode.
  const subjectPath = `${base}.subject`;
  for (const field of nonFile(visitorFieldsIn(ar.subject, form))) {
    out.push({
      severity: 'error',
      path: subjectPath,
      code: 'E_AUTOREPLY_SUBJECT_FIELD',
      message:
        `${subjectPath} uses the visitor field {{${field}}}: the subject is the first thing a recipient sees and cannot be sanitized safely. ` +
        `Fix: use only owner-written text and system placeholders in the subject.`,
    });
  }

  // Body: visitor text only with echo: sanitized.
  const bodyPath = `${base}.body`;
  if (ar.echo !== 'sanitized') {
    for (const field of nonFile(visitorFieldsIn(ar.body, form))) {
      out.push({
        severity: 'error',
        path: bodyPath,
        code: 'E_AUTOREPLY_ECHO',
        message:
          `${bodyPath} uses the visitor field {{${field}}}: a bot can put a spam link in that field and the auto-reply will carry it to any address it types. ` +
          `Fix: remove {{${field}}} from the auto-reply (system placeholders ${SYSTEM_LIST} are safe), ` +
          `or set autoreply.echo: sanitized to include it with links, addresses and phone numbers stripped.`,
      });
    }
  } else {
    // Fields whose whole value is contact data cannot be made safe: the sanitizer would blank them,
    // and whatever form it failed to recognise would be a contact sent to an address a bot chose.
    for (const field of visitorFieldsIn(ar.body, form)) {
      const type = form.fields.find((f) => f.name === field)?.type;
      if (type === undefined || !CONTACT_FIELD_TYPES.has(type)) continue;
      out.push({
        severity: 'error',
        path: bodyPath,
        code: 'E_AUTOREPLY_ECHO_CONTACT_FIELD',
        message:
          `${bodyPath} uses the ${type} field {{${field}}}: its whole value is an address, phone number or link, which echo: sanitized cannot make safe. ` +
          `Fix: remove {{${field}}} from the auto-reply; echo only free-text fields such as a name or a message.`,
      });
    }
  }

  templateSyntax(ar.subject, subjectPath, fields, out);
  templateSyntax(ar.body, bodyPath, fields, out);

  // Caps: numbers must make sense, and visitor text must never go out uncapped.
  for (const [suffix, reason] of capProblems(ar.caps)) {
    out.push({
      severity: 'error',
      path: `${base}.caps.${suffix}`,
      code: 'E_CAP_INVALID',
      message: `${base}.caps.${suffix} ${reason}. Fix: use a positive whole number, or remove it to use the default.`,
    });
  }
  const capped = hasFormLevelCap(resolveCapPolicy(ar.caps));
  const echoes = visitorFieldsIn(ar.subject, form).length + visitorFieldsIn(ar.body, form).length > 0;
  if (!capped) {
    out.push(
      echoes
        ? {
            severity: 'error',
            path: `${base}.caps`,
            code: 'E_AUTOREPLY_UNCAPPED',
            message:
              `${base}.caps turns every cap off while the auto-reply carries visitor text: a bot could send it to any number of addresses. ` +
              `Fix: remove caps: null to use the default caps, or set autoreply.caps.perAddress.`,
          }
        : {
            severity: 'warning',
            path: `${base}.caps`,
            code: 'W_AUTOREPLY_UNCAPPED',
            message:
              `${base}.caps turns every cap off: a bot can make the auto-reply flood any address it types (only the global cap applies). ` +
              `Fix: remove caps: null to use the default caps.`,
          },
    );
  }

  if (severity === 'warning') {
    for (let i = start; i < out.length; i++) {
      const issue = out[i];
      if (issue) issue.severity = 'warning';
    }
  }
}

function lintFields(form: RelayFormView, out: LintIssue[]): void {
  form.fields.forEach((f, i) => {
    if (!isSystemPlaceholder(f.name)) return;
    const path = `${formPath(form)}.fields[${i}].name`;
    out.push({
      severity: 'error',
      path,
      code: 'E_FIELD_SHADOWS_SYSTEM',
      message:
        `${path} is ${f.name}, the name of a system placeholder: the visitor would control what {{${f.name}}} looks like. ` +
        `Fix: rename the field.`,
    });
  });
}

/** All relay-safety issues of one form, errors and warnings, in config order. */
export function lintForm(form: RelayFormView): LintIssue[] {
  const out: LintIssue[] = [];
  lintFields(form, out);
  lintNotify(form, out);
  if (form.autoreply) lintAutoreply(form, form.autoreply, out);
  return out;
}
