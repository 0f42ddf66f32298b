// Property test: whatever a visitor types into a field the owner's webhook template names, the payload
// for each target carries no markup of the visitor's: no Slack <!here>/<@U…>/<url|text>, formatting or
// code fence; no Discord mention, masked link or markdown; no Teams link, emphasis, HTML or {{function}};
// no Chatwork tag ([toall], [To:…], [/info]); no clickable URL, address or domain in any chat; and the JSON
// keeps its shape. Each attacked payload is compared with the same payload for harmless stand-in values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostileText } from '../../test/support/hostile-text.js';
import type { WebhookType } from './config.js';
import { DISCORD_SPECIAL, normalizeVisitorText, TEAMS_SPECIAL } from './escape.js';
import { buildPayload, type WebhookNotice } from './payload.js';

const MARKUP = [
  '<!here>', '<!channel>', '<!everyone>', '<@U024BE7LH>', '<#C0123|general>', '<!subteam^S012>', '<https://evil.example/pay|Invoice>', '<mailto:ceo@evil.example|CEO>',
  '```', '`', '*', '**', '_', '__', '~~', '||', '&', '&lt;', '&amp;', '>', '> quoted', '# Heading', '- item', '\\', '\\*', '\\\\',
  '@here', '@channel', '@everyone', '<@123456789012345678>', '<@&987654321>', '<#123>', '<t:1700000000:R>', '<:pwn:123>', '[click](https://evil.example)', '![x](https://evil.example/a.png)',
  '<a href="https://evil.example">x</a>', '<img src=x onerror=alert(1)>', '{{DATE(2017-02-14T06:08:39Z, SHORT)}}', '${secret}', '<at>Boss</at>',
  '[toall]', '[To:1234567]', '[rp aid=123 to=456-789]', '[info]', '[/info]', '[title]', '[/title]', '[code]', '[/code]', '[hr]', '[piconname:123]', '[qt]', '[/qt]',
  'https://evil.example/x', 'hTTps://evil.example', 'http://spam.example.ru/?a=<b>', 'ftp://x.example', 'www.evil.example', 'evil.com', 'evil。com', 'ceo@evil.example', 'xn--80ak6aa92e.com',
  '\n', '\r\n', '\r', '\u2028', '\u2029', '\u0085', '\u202e', '\u2066', '\u200d', '\u200b', '\u0000', '\u001b[31m', '\t', 'h\u200bttps://evil.example',
];
const fragment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...MARKUP) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  { weight: 1, arbitrary: hostileText },
);
const evil = fc.array(fragment, { minLength: 1, maxLength: 10 }).map((xs) => xs.join(''));

/** Owner templates per target: visitor fields in plain text, inside the owner's own markup, at a line start. */
const TEMPLATES: Record<WebhookType, string[]> = {
  slack: ['{{message}}', '*{{name}}* wrote:\n{{message}}\n_receipt {{receipt_id}}_', '> {{name}}\n`{{email}}` {{message}}'],
  discord: ['{{message}}', '**{{name}}** wrote:\n{{message}}\n-# {{receipt_id}}', '> {{name}} ({{email}})\n{{message}}'],
  teams: ['{{message}}', '**{{name}}** wrote:\n\n{{message}}', '- {{name}}\n- {{email}}\n\n_{{message}}_'],
  chatwork: ['{{message}}', '[info][title]{{name}}[/title]{{message}}[/info]', '{{name}} ({{email}})\n[hr]{{message}}'],
  json: ['{{message}}', '{{name}} <{{email}}>: {{message}}'],
};
const TYPES = Object.keys(TEMPLATES) as WebhookType[];

function notice(values: Record<string, string>): WebhookNotice {
  return {
    deliveryId: 'm_0000000000aaaaaaaaaaaa',
    event: 'accepted',
    siteName: 'Example Shop',
    formId: 'contact',
    formTitle: { ja: 'お問い合わせ', en: 'Contact us' },
    receiptId: 'R7KQ2M',
    submittedAt: new Date(Date.UTC(2026, 11, 4, 9, 30)),
    action: 'accept',
    score: 0,
    values,
  };
}

/** The text a chat shows, from each target's payload. */
function chatText(type: WebhookType, body: string): string {
  if (type === 'chatwork') return new URLSearchParams(body).get('body') ?? '';
  const p = JSON.parse(body);
  if (type === 'slack') return p.text;
  if (type === 'discord') return p.content;
  if (type === 'teams') return p.attachments[0].content.body.map((b: { text: string }) => b.text).join('\n');
  return p.text;
}

const count = (s: string, re: RegExp) => (s.match(new RegExp(re.source, 'gu')) ?? []).length;
const charCounts = (s: string, chars: string) => [...chars].map((c) => `${c}${s.split(c).length - 1}`).join(' ');
/** A scheme:// that a chat would make a link of (defang leaves hxxp:// and scheme[://]). */
const LIVE_SCHEME = /(?<![a-z0-9+.-])(?!hxxps?:)[a-z][a-z0-9+.-]*:\/\//i;
/** A bare domain a linkifier would pick up: label, a dot of any width, a TLD-like label. */
const BARE_DOMAIN = /[\p{L}\p{N}-][.。．｡]\p{L}[\p{L}\p{N}\p{M}-]/u;

const values = fc.record({ name: evil, email: evil, message: evil });

describe('webhook payloads escape visitor text for their target', () => {
  for (const type of TYPES) {
    it(`${type}: visitor text creates no mention, link, tag or markup and stays in its field`, () => {
      fc.assert(
        fc.property(values, fc.constantFrom(...TEMPLATES[type]), (v, template) => {
          const attacked = buildPayload({ type, template }, notice(v), 'ja');
          const calm = buildPayload({ type, template }, notice({ name: 'v0', email: 'v1', message: 'v2' }), 'ja');
          expect(attacked.contentType).toBe(calm.contentType);
          // The same structure: visitor text cannot add, remove or reshape a key.
          if (type !== 'chatwork') expect(Object.keys(JSON.parse(attacked.body)).sort()).toEqual(Object.keys(JSON.parse(calm.body)).sort());
          else expect([...new URLSearchParams(attacked.body).keys()]).toEqual([...new URLSearchParams(calm.body).keys()]);
          const a = chatText(type, attacked.body);
          const c = chatText(type, calm.body);
          if (type === 'json') {
            expect(attacked.body).not.toMatch(/[<>&\u2028\u2029]/);
            if (template === '{{message}}') expect(a).toBe(normalizeVisitorText(v.message));
            expect(a.replace(/\n/g, '')).not.toMatch(/[\p{Cc}\p{Cf}]/u);
            return;
          }
          // Every chat: no control, bidi or zero-width character, no live link or bare domain, no '@' of the visitor's.
          expect(a).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
          expect(a).not.toMatch(LIVE_SCHEME);
          expect(count(a, BARE_DOMAIN)).toBe(count(c, BARE_DOMAIN));
          expect(charCounts(a, '@')).toBe(charCounts(c, '@'));
          if (type === 'slack') {
            // No '<' or '>' at all from the visitor (every mention, channel and link needs one); no formatting character.
            expect(charCounts(a, '<>*_~`|')).toBe(charCounts(c, '<>*_~`|'));
            expect(a.replace(/&(?:amp|lt|gt);/g, '')).not.toMatch(/&/);
          }
          if (type === 'discord') {
            // Every special character the visitor typed is backslash-escaped: without the escape pairs, the
            // attacked text has exactly the owner's markup.
            const unescaped = a.replace(/\\[\s\S]/g, '');
            const specials = [...new Set(DISCORD_SPECIAL.source.replace(/^\[|\]$/g, '').replace(/\\(.)/g, '$1'))].join('');
            expect(charCounts(unescaped, specials)).toBe(charCounts(c, specials));
            expect(JSON.parse(attacked.body).allowed_mentions).toEqual({ parse: [] });
          }
          if (type === 'teams') {
            const specials = '[]()<>{}*_~`|#&\\!$';
            expect(TEAMS_SPECIAL.test(specials)).toBe(true);
            expect(charCounts(a, specials)).toBe(charCounts(c, specials));
          }
          if (type === 'chatwork') {
            const tags = (s: string) => s.match(/\[[^[\]]*\]/g) ?? [];
            expect(tags(a)).toEqual(tags(c));
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it('the default message (no template) carries no visitor text at all', () => {
    fc.assert(
      fc.property(values, fc.constantFrom(...TYPES), fc.constantFrom<'accepted' | 'quarantined'>('accepted', 'quarantined'), fc.constantFrom<'ja' | 'en'>('ja', 'en'), (v, type, event, lang) => {
        const withText = buildPayload({ type }, { ...notice(v), event }, lang);
        const without = buildPayload({ type }, { ...notice({}), event }, lang);
        expect(withText.body).toBe(without.body);
      }),
      { numRuns: 100 },
    );
  });
});
