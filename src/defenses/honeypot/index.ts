// Honeypot: configured trap fields must be posted and empty. Filled = a bot that fills every field;
// missing = a bot (or script) that posts without our form.
import type { Defense, Finding } from '../../pipeline/types.js';

export interface HoneypotConfig {
  /** Names of the hidden trap fields (rendered by the hosted form and widget). */
  fields: string[];
}

export function createHoneypotDefense(config: HoneypotConfig): Defense {
  const fields = config.fields ?? [];
  if (!Array.isArray(fields) || fields.length === 0) throw new Error('honeypot.fields: list at least one trap field name (e.g. ["website"])');
  for (const [i, f] of fields.entries()) {
    if (typeof f !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(f)) throw new Error(`honeypot.fields[${i}]: "${String(f)}" is not a field name`);
  }
  if (new Set(fields).size !== fields.length) throw new Error('honeypot.fields: a name is listed twice');
  return {
    name: 'honeypot',
    stage: 'main',
    priority: -60,
    onError: 'fail-open',
    symbols: ['HONEYPOT_FILLED', 'HONEYPOT_MISSING'],
    check(sub) {
      const findings: Finding[] = [];
      const filled = fields.filter((f) => typeof sub.honeypot[f] === 'string' && sub.honeypot[f] !== '');
      const missing = fields.filter((f) => sub.honeypot[f] === undefined);
      if (filled.length) findings.push({ symbol: 'HONEYPOT_FILLED', detail: filled.join(',') });
      if (missing.length) findings.push({ symbol: 'HONEYPOT_MISSING', detail: missing.join(',') });
      return findings.length ? { kind: 'flag', findings } : { kind: 'pass' };
    },
  };
}
