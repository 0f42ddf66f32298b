// Property test (issue 10, class 7): whatever an attacker puts where an alert shows it (form fields, field
// names, client addresses, recipient domains), the payload rendered for each target carries no active
// markup: no Slack <!here>, <!channel>, <@U…>, <url|text> and no way out of the code block; no Chatwork
// tag ([toall], [To:…], [/info], …); no extra line, control or bidi character in the mail; nothing in the
// generic JSON that an HTML or script consumer would read as markup.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { testConfigYaml } from '../../test/support/instance.js';
import { alertText, webhookPayload } from './alerts.js';
import type { TripInfo } from './breaker.js';

const config = parseConfigText(testConfigYaml({ dbUrl: 'sqlite::memory:' }), 'test');

const MARKUP = [
  '<!here>', '<!channel>', '<!everyone>', '<@U024BE7LH>', '<@W123|boss>', '<#C0123|general>', '<!subteam^S012>', '<!date^1392734382^{date}|x>',
  '<https://evil.example/pay|Invoice>', '<mailto:ceo@evil.example|CEO>', '```', '`', '*', '_', '~', '&', '&lt;', '>', '> quoted',
  '[toall]', '[To:1234567]', '[rp aid=123 to=456-789]', '[info]', '[/info]', '[title]', '[/title]', '[code]', '[/code]', '[hr]',
  '[piconname:123]', '[picon:99]', '[qt]', '[/qt]', '[qtmeta aid=1 time=2]', '[download:3]', '[preview id=4 ht=100]', '[task aid=1 st=open]',
  '\n', '\r\n', '\r', '\u2028', '\u2029', '\u0085', '\u202e', '\u2066', '\u200d', '\u200b', '\u0000', '\u001b[31m', '\t',
  'https://evil.example/x', 'http://spam.example.ru/?a=<b>', 'ceo@evil.example', '@here', '@channel',
];
const fragment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...MARKUP) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
);
const evil = fc.array(fragment, { minLength: 1, maxLength: 8 }).map((xs) => xs.join(''));

const trips = fc.record({
  kind: fc.constantFrom<'breaker' | 'attack'>('breaker', 'attack'),
  formId: fc.constantFrom<string | null>('contact', null),
  ips: fc.uniqueArray(evil, { minLength: 0, maxLength: 4 }),
  domains: fc.uniqueArray(evil, { minLength: 0, maxLength: 4 }),
  samples: fc.array(fc.record({ ip: evil, key: evil, value: evil, name: evil }), { minLength: 0, maxLength: 3 }),
});

type Gen = { kind: 'breaker' | 'attack'; formId: string | null; ips: string[]; domains: string[]; samples: { ip: string; key: string; value: string; name: string }[] };

/** The trip, with every attacker string passed through `map` (the identity, or a benign stand-in). */
function trip(g: Gen, map: (s: string) => string): TripInfo {
  return {
    scope: g.formId ? `form:${g.formId}` : 'instance',
    formId: g.formId,
    kind: g.kind,
    reason: g.kind === 'attack' ? 'rejected share 100% > 80%' : 'submissions 99 in 600s > limit 60',
    stats: {
      submissions: 99, autoreplies: 3, recipientDomains: 4, rejected: 20, bounces: 2, bounceDomains: 1, sent: 9,
      topIps: g.ips.map((ip, i) => [map(ip), 10 - i]),
      topDomains: g.domains.map((d, i) => [map(d), 10 - i]),
      samples: g.samples.map((x) => ({ ip: map(x.ip), fields: { name: map(x.name), [map(x.key)]: map(x.value) } })),
    },
  };
}

/**
 * Every distinct attacker string becomes a distinct harmless word: same shape, no markup, and nothing for
 * the alert to merge (attacker strings that clean to the same text share a line), so the calm alert has the
 * most lines the structure allows: an attacked alert may have fewer, never more.
 */
function benign(g: Gen): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => seen.get(s) ?? (seen.set(s, `v${seen.size}`), `v${seen.size - 1}`);
}

const chatworkTags = (s: string) => s.match(/\[[^[\]]*\]/g) ?? [];

describe('alerts escape attacker text for their target', () => {
  it('Slack, Chatwork, mail and JSON carry no active markup, whatever the attacker typed', () => {
    fc.assert(
      fc.property(trips, (g) => {
        const attacked = trip(g, (s) => s);
        const calm = trip(g, benign(g));

        // Slack: no '<' at all (every mention, channel link and <url|text> needs one), one code block that
        // the attacker cannot close, no line the calm alert does not have.
        const slack = (t: TripInfo) => (JSON.parse(webhookPayload('slack', config, t).body) as { text: string }).text;
        const s = slack(attacked);
        expect(s).not.toContain('<');
        expect(s).not.toContain('>');
        const open = s.indexOf('```');
        expect(s.endsWith('```')).toBe(true);
        expect(s.slice(open + 3, -3)).not.toContain('```');
        expect(s.split('\n').length).toBeLessThanOrEqual(slack(calm).split('\n').length);

        // Chatwork: exactly the tags the calm alert has ([info][title]…[/title]…[/info]).
        const chatwork = (t: TripInfo) => new URLSearchParams(webhookPayload('chatwork', config, t).body).get('body') ?? '';
        const c = chatwork(attacked);
        expect(chatworkTags(c)).toEqual(chatworkTags(chatwork(calm)));
        expect(c.startsWith('[info][title]')).toBe(true);
        expect(c.endsWith('[/info]')).toBe(true);
        expect(c.split('\n').length).toBeLessThanOrEqual(chatwork(calm).split('\n').length);

        // Mail: a one-line subject; as many lines as the calm alert; no control, bidi or zero-width
        // characters; no clickable URL or address.
        const m = alertText(config, attacked);
        expect(m.subject).not.toMatch(/[\r\n]/);
        expect(m.body.split('\n').length).toBeLessThanOrEqual(alertText(config, calm).body.split('\n').length);
        expect(m.body).not.toMatch(/[\p{Cf}\p{Zl}\p{Zp}]|[^\P{Cc}\n]/u);
        for (const [, scheme] of m.body.matchAll(/([a-z][a-z0-9+.-]*):\/\//gi)) expect(scheme!.toLowerCase()).toMatch(/^hxxps?$/);
        expect(m.body).not.toMatch(/\bhttps?:/i);

        // Generic JSON: valid, and nothing an HTML or script consumer reads as markup or a line break.
        const j = webhookPayload('json', config, attacked).body;
        expect(j).not.toMatch(/[<>&\u2028\u2029]/);
        const parsed = JSON.parse(j) as { stats: { topIps: [string, number][]; samples: { ip: string; fields: Record<string, string> }[] } };
        const strings = [...parsed.stats.topIps.map(([ip]) => ip), ...parsed.stats.samples.flatMap((x) => [x.ip, ...Object.keys(x.fields), ...Object.values(x.fields)])];
        for (const v of strings) expect(v).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
      }),
      { numRuns: Number(process.env.FW_PROPERTY_RUNS ?? 300) },
    );
  });
});
