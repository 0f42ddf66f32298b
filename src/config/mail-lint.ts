// Checks of the mail templates beyond the relay lint: translations get the same relay lint as the
// subject/body they stand in for, and a custom notification body that leaves out a field is reported
// (what visitors type there would never reach the owner).
import { lintForm } from '../relay/template-lint.js';
import type { LintIssue } from '../relay/types.js';
import type { FormConfig } from './schema.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;
const LANGS = ['ja', 'en'] as const;

function placeholders(template: string): Set<string> {
  return new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!));
}

/** The relay lint of each translation (forms[x].autoreply.translations.en.body, ...), as for subject/body. */
export function lintTranslations(form: FormConfig): LintIssue[] {
  const out: LintIssue[] = [];
  for (const lang of LANGS) {
    const ar = form.autoreply?.translations?.[lang];
    const nt = form.notify.translations?.[lang];
    if (!ar && !nt) continue;
    const view = {
      ...form,
      notify: { ...form.notify, subject: nt?.subject ?? form.notify.subject, body: nt?.body ?? form.notify.body },
      ...(form.autoreply ? { autoreply: { ...form.autoreply, subject: ar?.subject ?? form.autoreply.subject, body: ar?.body ?? form.autoreply.body } } : {}),
    };
    const set = new Set<string>();
    for (const key of ['subject', 'body'] as const) {
      if (ar?.[key] !== undefined) set.add(`autoreply.${key}`);
      if (nt?.[key] !== undefined) set.add(`notify.${key}`);
    }
    for (const issue of lintForm(view as Parameters<typeof lintForm>[0])) {
      const m = /\.(autoreply|notify)\.(subject|body)$/.exec(issue.path);
      if (!m || !set.has(`${m[1]}.${m[2]}`)) continue;
      const moved = issue.path.replace(/\.(autoreply|notify)\.(subject|body)$/, `.$1.translations.${lang}.$2`);
      out.push({ ...issue, path: moved, message: issue.message.split(issue.path).join(moved) });
    }
  }
  return out;
}

/** A custom notification body (or a translation of it) that leaves out a field: a warning per field. */
export function lintNotifyCoverage(form: FormConfig): LintIssue[] {
  const bodies: [string, string][] = [];
  if (form.notify.body !== undefined) bodies.push([`forms[${form.id}].notify.body`, form.notify.body]);
  for (const lang of LANGS) {
    const body = form.notify.translations?.[lang]?.body;
    if (body !== undefined) bodies.push([`forms[${form.id}].notify.translations.${lang}.body`, body]);
  }
  const out: LintIssue[] = [];
  for (const [path, body] of bodies) {
    const used = placeholders(body);
    const missing = form.fields.filter((f) => !used.has(f.name)).map((f) => f.name);
    if (missing.length === 0) continue;
    out.push({
      severity: 'warning',
      path,
      code: 'W_NOTIFY_FIELD_OMITTED',
      message:
        `${path} does not show ${missing.map((n) => `{{${n}}}`).join(', ')}: what visitors type there never reaches you. ` +
        `Fix: add ${missing.length > 1 ? 'them' : 'it'} to the body, or remove notify.body to get every field with its label and the receipt number.`,
    });
  }
  return out;
}
