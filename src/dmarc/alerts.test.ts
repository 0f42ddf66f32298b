// Alert text from report data an attacker writes (anyone can mail a "report" to the rua address): reporter
// names, From domains and AS names can neither link, mention, tag nor break a line in the mail or a chat.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dmarcAlertText, dmarcWebhookPayload, unknownSourcesPayload, unknownSourcesText, type DmarcAlert } from './alerts.js';

const nasty = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('<!here>', '[toall]', '[/info]', 'https://evil.example/x', '```', '*bold*', 'a\nb\r\nc', '\u202eevil', '@channel <@U123>'));

type Payload = (format: 'json' | 'slack' | 'chatwork') => { body: string };

/** Mail text and every webhook format carry outside text only as letters, digits, dot, dash and space. */
function expectSafe(text: { subject: string; body: string }, payload: Payload): string {
  expect(text.subject).not.toMatch(/[\r\n]/);
  // only our own lines: every line of the body is one we wrote, never one started by outside text
  for (const line of text.body.split('\n')) expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/);
  expect(text.body).not.toMatch(/:\/\/|<!|<@|\[to|\[\/info\]|\[/i);
  const slack = JSON.parse(payload('slack').body).text as string;
  expect(slack.match(/```/g)).toHaveLength(2);
  expect(slack).not.toMatch(/<[!@#]/);
  const cw = new URLSearchParams(payload('chatwork').body).get('body')!;
  expect(cw.match(/\[\/info\]/g)).toHaveLength(1);
  expect(cw).not.toMatch(/\[to/i);
  const json = payload('json').body;
  expect(json).not.toMatch(/[<>&]/);
  return json;
}

describe('DMARC alert text', () => {
  it('outside text is reduced to letters, digits, dot, dash and space in every target', () => {
    fc.assert(fc.property(nasty, nasty, nasty, (from, reporter, asName) => {
      const a: DmarcAlert = { kind: 'unknown-failing', domain: 'example.jp', day: '2026-03-01', ip: '192.0.2.1', network: 'AS64500', asn: 64500, asName, country: 'NL', fail: 25, total: 25, headerFroms: [from], reporters: [reporter] };
      expectSafe(dmarcAlertText({ siteName: 'Shop' }, a), (f) => dmarcWebhookPayload(f, { siteName: 'Shop' }, a));
    }));
  });

  it('the same holds for the mail and webhooks that group several sources, and each source is named or counted', () => {
    const source = fc.record({ from: nasty, reporter: nasty, asName: nasty, fail: fc.integer({ min: 21, max: 10_000 }) });
    fc.assert(fc.property(fc.array(source, { minLength: 2, maxLength: 30 }), (sources) => {
      const list = sources.map((x, i): Extract<DmarcAlert, { kind: 'unknown-failing' }> => ({ kind: 'unknown-failing', domain: 'example.jp', day: '2026-03-01', ip: `192.0.2.${i + 1}`, network: 'AS64500', asn: 64500, asName: x.asName, country: 'NL', fail: x.fail, total: x.fail, headerFroms: [x.from], reporters: [x.reporter] }));
      const text = unknownSourcesText({ siteName: 'Shop' }, list);
      const json = expectSafe(text, (f) => unknownSourcesPayload(f, { siteName: 'Shop' }, list));
      // the busiest 20 named, once per language; the rest counted
      const named = list.filter((a) => text.body.split(`${a.ip} (`).length === 3);
      expect(named).toHaveLength(Math.min(20, list.length));
      const least = Math.min(...named.map((a) => a.fail));
      expect(list.filter((a) => !named.includes(a)).every((a) => a.fail <= least)).toBe(true);
      if (list.length > 20) expect(text.body).toContain(`... and ${list.length - 20} more`);
      expect((JSON.parse(json) as { sources: unknown[] }).sources).toHaveLength(list.length);
    }));
  });
});
