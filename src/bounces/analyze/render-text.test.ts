// `analyze` output on the owner's terminal (class 10 of issue #10): whatever text from bounces ends up in the
// report (domains, IPs, reasons, finding texts), the text and JSON renderings carry no character a terminal
// acts on; the JSON still parses back to the same report.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostileText, TERMINAL_CONTROL } from '../../../test/support/hostile-text.js';
import { renderJson, renderText } from './render-text.js';
import { ReportBuilder } from './report.js';

describe('analyze renderings', () => {
  it('neutralise control characters and bidi overrides from bounce text, in text and JSON', () => {
    fc.assert(
      fc.property(fc.array(hostileText, { minLength: 6, maxLength: 6 }), fc.constantFrom('en', 'ja') as fc.Arbitrary<'en' | 'ja'>, (h, lang) => {
        const r = new ReportBuilder({ ownerDomains: [], now: () => new Date(0) }).finish();
        r.ownerDomains = [h[0]!];
        r.recipientDomains = [{ domain: h[1]!, count: 1, share: 1 }];
        r.recipientTlds = [{ tld: h[2]!, count: 1, share: 1 }];
        r.sendingIps = [{ ip: h[3]!, count: 1, origins: { unknown: 1 } }];
        r.byReason = [{ reason: h[4]!, count: 1, share: 1 }];
        r.findings = [{ id: 'unknown-origin', severity: 'warning', count: 1, title: { en: h[5]!, ja: h[5]! }, detail: { en: h[0]!, ja: h[1]! }, action: { en: h[2]!, ja: h[3]! } }];
        expect(renderText(r, lang)).not.toMatch(TERMINAL_CONTROL);
        const json = renderJson(r);
        expect(json).not.toMatch(TERMINAL_CONTROL);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(r)));
      }),
      { numRuns: 60 },
    );
  });
});
