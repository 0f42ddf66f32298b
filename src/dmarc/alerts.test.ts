// Alert text from report data an attacker writes (anyone can mail a "report" to the rua address): reporter
// names, From domains and AS names can neither link, mention, tag nor break a line in the mail or a chat.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dmarcAlertText, dmarcWebhookPayload, type DmarcAlert } from './alerts.js';

const nasty = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('<!here>', '[toall]', '[/info]', 'https://evil.example/x', '```', '*bold*', 'a\nb\r\nc', '\u202eevil', '@channel <@U123>'));

describe('DMARC alert text', () => {
  it('outside text is reduced to letters, digits, dot, dash and space in every target', () => {
    fc.assert(fc.property(nasty, nasty, nasty, (from, reporter, asName) => {
      const a: DmarcAlert = { kind: 'unknown-failing', domain: 'example.jp', day: '2026-03-01', ip: '192.0.2.1', network: 'AS64500', asn: 64500, asName, country: 'NL', fail: 25, total: 25, headerFroms: [from], reporters: [reporter] };
      const text = dmarcAlertText({ siteName: 'Shop' }, a);
      expect(text.subject).not.toMatch(/[\r\n]/);
      // only our own lines: every line of the body is one we wrote, never one started by outside text
      for (const line of text.body.split('\n')) expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/);
      expect(text.body).not.toMatch(/:\/\/|<!|<@|\[to|\[\/info\]|\[/i);
      const slack = JSON.parse(dmarcWebhookPayload('slack', { siteName: 'Shop' }, a).body).text as string;
      expect(slack.match(/```/g)).toHaveLength(2);
      expect(slack).not.toMatch(/<[!@#]/);
      const cw = new URLSearchParams(dmarcWebhookPayload('chatwork', { siteName: 'Shop' }, a).body).get('body')!;
      expect(cw.match(/\[\/info\]/g)).toHaveLength(1);
      expect(cw).not.toMatch(/\[to/i);
      const json = dmarcWebhookPayload('json', { siteName: 'Shop' }, a).body;
      expect(json).not.toMatch(/[<>&]/);
    }));
  });
});
