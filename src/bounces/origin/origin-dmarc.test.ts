// The origin view with DMARC evidence (issue 13, item 4): when aggregate reports cover the bounce's days,
// they are weighed with the returned headers and the result says so (basis and a sentence).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dmarcEvidence } from '../../dmarc/analyze/evidence.js';
import type { StoredDmarcRecord } from '../../dmarc/types.js';
import { parseBounce } from '../parse/index.js';
import { classifyOrigin } from './index.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (n: string) => readFileSync(path.join(dir, n));
const OWNER = ['sakura-dental.example'];

function dayOfBounce(raw: Buffer): string {
  return new Date(Date.parse(parseBounce(raw).bounce.date!)).toISOString().slice(0, 10);
}
function rec(day: string, offset: number, ip: string, count: number, pass: boolean): StoredDmarcRecord {
  const b = new Date(Date.parse(day + 'T00:00:00Z') + offset * 86_400_000);
  return { sourceIp: ip, count, disposition: pass ? 'none' : 'reject', dkim: pass ? 'pass' : 'fail', spf: pass ? 'pass' : 'fail', headerFrom: OWNER[0]!, dkimDomains: [], spfDomains: [], orgName: 'google.com', reportId: `r${offset}`, domain: OWNER[0]!, begin: b.toISOString(), end: new Date(b.getTime() + 86_399_000).toISOString() };
}

describe('classifyOrigin with DMARC evidence', () => {
  it('backscatter + failing unknown sources in the reports: spoofing confirmed, evidence names DMARC', async () => {
    const raw = fixture('spoofing-backscatter.eml');
    const day = dayOfBounce(raw);
    const records = [rec(day, -1, '198.51.100.5', 40, true), rec(day, 0, '203.0.113.66', 35, false)];
    const o = await classifyOrigin(parseBounce(raw), { ownerDomains: OWNER, dmarc: dmarcEvidence(() => records) }, raw);
    expect(o.kind).toBe('spoofing');
    expect(o.basis).toEqual(['headers', 'dmarc']);
    expect(o.evidence.join('\n')).toMatch(/DMARC reports for .* show 35 failing message\(s\) from 1 source\(s\) the owner has not authorised: forgery of the domain is confirmed/);
    // without reports: headers only
    const h = await classifyOrigin(parseBounce(raw), { ownerDomains: OWNER }, raw);
    expect(h.kind).toBe('spoofing');
    expect(h.basis).toEqual(['headers']);
    expect(h.evidence.join('\n')).not.toMatch(/DMARC reports/);
  });

  it('own-account bounce + an authorised volume jump in the reports: takeover evidence', async () => {
    const raw = fixture('account-takeover.eml');
    const day = dayOfBounce(raw);
    const records = [...Array.from({ length: 7 }, (_, i) => rec(day, -7 + i, '198.51.100.5', 60, true)), rec(day, 0, '198.51.100.5', 600, true)];
    const o = await classifyOrigin(parseBounce(raw), { ownerDomains: OWNER, dmarc: dmarcEvidence(() => records) }, raw);
    expect(o.kind).toBe('account');
    expect(o.basis).toEqual(['headers', 'dmarc']);
    expect(o.evidence.join('\n')).toMatch(/authorised servers sent 600 message\(s\) on .*, 10 times their usual volume: evidence of a taken-over account/);
  });

  it('reports that cover other days are not evidence', async () => {
    const raw = fixture('spoofing-backscatter.eml');
    const records = [rec(dayOfBounce(raw), 30, '203.0.113.66', 35, false)];
    const o = await classifyOrigin(parseBounce(raw), { ownerDomains: OWNER, dmarc: dmarcEvidence(() => records) }, raw);
    expect(o.basis).toEqual(['headers']);
  });
});
