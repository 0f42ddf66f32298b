// An independent DKIM verifier for tests: mailauth, with a DNS stub that answers the TXT record
// Formwarden prints for the configured key (no network).
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { dkimDnsRecord, type DkimConfig, type DkimKey } from '../../src/mail/dkim.js';

export function dnsStub(records: Record<string, string>) {
  return async (name: string, type: string): Promise<string[][]> => {
    const value = type === 'TXT' ? records[name.toLowerCase()] : undefined;
    if (value === undefined) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
    // As DNS answers a long record: strings of up to 255 characters, joined by the verifier.
    return [value.match(/.{1,255}/g)!];
  };
}

/** mailauth's verdict on every DKIM signature of the message. */
export async function verifyDkim(raw: Buffer | string, dkim: DkimConfig, key: DkimKey): Promise<{ result: string; algo: string; domain: string }[]> {
  const rec = dkimDnsRecord(dkim, key);
  const out = await dkimVerify(raw, { resolver: dnsStub({ [rec.name]: rec.value }) as never });
  return out.results.map((r) => ({ result: r.status.result, algo: String((r as { algo?: string }).algo ?? r.algorithm ?? ''), domain: String(r.signingDomain ?? '') }));
}
