// Writing a DmarcReport back as RFC 7489 aggregate XML, for round-trip tests and for building reports of any
// size (optionally namespaced, with a prefix).
import type { DmarcReport } from '../../src/dmarc/types.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const secs = (iso: string) => String(Math.round(Date.parse(iso) / 1000));

export function dmarcXml(r: DmarcReport, o: { namespace?: string; prefix?: string } = {}): string {
  const p = o.prefix ? `${o.prefix}:` : '';
  const el = (name: string, inner: string) => `<${p}${name}>${inner}</${p}${name}>`;
  const opt = (name: string, v: string | number | undefined) => (v === undefined ? '' : el(name, esc(String(v))));
  const ns = o.namespace ? ` xmlns${o.prefix ? `:${o.prefix}` : ''}="${o.namespace}"` : '';
  const meta = el('report_metadata', el('org_name', esc(r.orgName)) + opt('email', r.email) + el('report_id', esc(r.reportId)) + el('date_range', el('begin', secs(r.begin)) + el('end', secs(r.end))));
  const pol = el('policy_published', el('domain', esc(r.policy.domain)) + opt('adkim', r.policy.adkim) + opt('aspf', r.policy.aspf) + el('p', esc(r.policy.p)) + opt('sp', r.policy.sp) + opt('pct', r.policy.pct));
  const recs = r.records
    .map((x) =>
      el(
        'record',
        el('row', el('source_ip', esc(x.sourceIp)) + el('count', String(x.count)) + el('policy_evaluated', el('disposition', esc(x.disposition)) + el('dkim', esc(x.dkim)) + el('spf', esc(x.spf)))) +
          el('identifiers', opt('envelope_from', x.envelopeFrom) + el('header_from', esc(x.headerFrom))) +
          el('auth_results', x.dkimDomains.map((d) => el('dkim', el('domain', esc(d)) + el('result', 'pass'))).join('') + x.spfDomains.map((d) => el('spf', el('domain', esc(d)) + el('result', 'pass'))).join('')),
      ),
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${p}feedback${ns}>${meta}${pol}\n${recs}\n</${p}feedback>\n`;
}
