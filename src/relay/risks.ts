// Every mail whose recipient the visitor chooses, and what keeps it from
// being a relay. Feeds `check-config` output; serve refuses unprotected ones.

import { NAME_ECHO_MAX, FIELD_ECHO_MAX } from './sanitize.js';
import { describeCaps, hasFormLevelCap, resolveCapPolicy } from './caps.js';
import { scanTemplate } from './placeholders.js';
import { visitorFieldsIn } from './template-lint.js';
import type { EchoMode, RelayFormView } from './types.js';

export interface RelayRisk {
  form: string;
  mail: 'autoreply' | 'notify';
  /** Field that supplies the recipient address. */
  recipientField: string;
  echo: EchoMode;
  /** Visitor fields that the mail's subject or body would carry. */
  echoedFields: string[];
  protections: string[];
  /** Could carry visitor content with no form-level cap (serve must refuse). */
  unprotected: boolean;
}

function notifyRisks(form: RelayFormView): RelayRisk[] {
  const fields = new Map(form.fields.map((f) => [f.name.toLowerCase(), f.name]));
  const risks: RelayRisk[] = [];
  for (const entry of form.notify.to) {
    const v = entry.trim();
    const ref = scanTemplate(v).refs.find((r) => fields.has(r.name.toLowerCase()));
    const field = ref ? fields.get(ref.name.toLowerCase()) : fields.get(v.toLowerCase());
    if (field === undefined) continue;
    // The notification carries the whole submission and has no visitor caps.
    risks.push({
      form: form.id,
      mail: 'notify',
      recipientField: field,
      echo: 'none',
      echoedFields: form.fields.map((f) => f.name),
      protections: [],
      unprotected: true,
    });
  }
  return risks;
}

function autoreplyRisk(form: RelayFormView): RelayRisk | null {
  const ar = form.autoreply;
  if (!ar || !ar.enabled) return null;
  const echo: EchoMode = ar.echo === 'sanitized' ? 'sanitized' : 'none';
  const echoedFields = [...new Set([...visitorFieldsIn(ar.subject, form), ...visitorFieldsIn(ar.body, form)])];
  const policy = resolveCapPolicy(ar.caps);
  const protections: string[] = [];
  if (echoedFields.length === 0) protections.push('echo: none (no visitor text)');
  else if (echo === 'sanitized' && visitorFieldsIn(ar.subject, form).length === 0)
    protections.push(
      `echo: sanitized (${echoedFields.join(', ')}: links, addresses and phone numbers stripped; name <= ${NAME_ECHO_MAX} chars, others <= ${FIELD_ECHO_MAX})`,
    );
  // else: visitor text goes out unsanitized (lint error); nothing to list.
  const target = form.fields.find((f) => f.name === ar.to.trim());
  if (target?.type === 'email') protections.push(`recipient field ${target.name} is type email (one validated address)`);
  protections.push(...describeCaps(policy));
  return {
    form: form.id,
    mail: 'autoreply',
    recipientField: ar.to.trim(),
    echo,
    echoedFields,
    protections,
    unprotected: echoedFields.length > 0 && !hasFormLevelCap(policy),
  };
}

/** Every mail of the form that goes to a visitor-supplied address (disabled auto-replies excluded). */
export function relayRisks(form: RelayFormView): RelayRisk[] {
  const ar = autoreplyRisk(form);
  return [...(ar ? [ar] : []), ...notifyRisks(form)];
}

/** Human-readable report for `check-config`. */
export function formatRelayReport(risks: readonly RelayRisk[]): string {
  if (risks.length === 0) return 'No mail goes to an address typed into a form.';
  const lines: string[] = ['Mail sent to addresses typed into a form:'];
  for (const r of risks) {
    const head = `forms[${r.form}].${r.mail} -> visitor field ${r.recipientField}`;
    if (r.unprotected) {
      lines.push(`  UNPROTECTED ${head}`);
      lines.push(
        r.mail === 'notify'
          ? '    carries the whole submission to an address the visitor chose; serve refuses this form'
          : `    carries visitor text (${r.echoedFields.join(', ')}) with every cap off; serve refuses this form`,
      );
    } else {
      lines.push(`  ${head}`);
    }
    for (const p of r.protections) lines.push(`    - ${p}`);
  }
  const bad = risks.filter((r) => r.unprotected).length;
  lines.push(bad === 0 ? 'All protected.' : `${bad} unprotected: fix ${bad === 1 ? 'it' : 'them'} before serving.`);
  return lines.join('\n');
}
