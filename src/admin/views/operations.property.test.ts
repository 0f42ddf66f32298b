// The operations pages gain no markup from what visitors, remote servers or owners typed: the count of '<'
// and '"' in a page (the only ways into a tag or out of an attribute) does not depend on the values shown.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Lang } from '../../i18n/messages.js';
import { alertsPage, breakersPage, ipListsPage, mailPage, outboxPage, suppressionsPage, type MailRow, type MailView } from './operations.js';

const hostile = fc
  .array(fc.oneof(fc.constantFrom('<', '>', '"', "'", '&', '</td>', '<script>', '" onmouseover="x', '\u202E', '\u2066', '&lt;', '\u0000', '`', '${x}', '</pre>'), fc.string({ unit: 'grapheme', maxLength: 6 })), { maxLength: 10 })
  // Never empty: an empty value leaves out its optional part, which changes the page's shape by design.
  .map((p) => `a${p.join('')}`);

const count = (s: string, ch: string) => s.split(ch).length - 1;

/** Every page, with v(i) as its i-th shown value. */
function pages(lang: Lang, v: (i: number) => string): string[] {
  const mail = (i: number): MailRow => ({ id: 'm_1', kind: 'notify', state: 'dead', to: v(i), subject: v(i + 1), attempts: 3, created: '2026-12-04 09:00:00', next: '', error: v(i + 2) });
  const view = (shown: MailView['shown']): MailView => ({
    id: 'm_1',
    kind: 'notify',
    state: 'sent',
    to: v(30),
    subject: v(31),
    attempts: 1,
    created: 'x',
    sent: 'x',
    error: v(32),
    form: v(33),
    submissionId: 's_1',
    hasRaw: true,
    shown,
    back: { href: '/admin/operations/outbox', label: 'back' },
  });
  return [
    breakersPage(lang, {
      csrf: 'c',
      rows: [{ scope: 'form:contact', form: 'contact', label: v(0), state: 'open', reason: v(1), since: 'x', tripped: 'x', retry: 'x', stored: true }],
      history: [{ at: 'x', detail: v(2) }],
      notice: { error: v(3) },
    }).value,
    ipListsPage(lang, {
      csrf: 'c',
      rules: [{ cidr: '203.0.113.0/24', list: 'block', expires: 'x', expired: true, note: v(4), added: 'x' }],
      bans: [{ key: v(5), until: 'x', level: 1 }],
      form: { cidr: v(6), list: 'allow', expires: v(7), note: v(8) },
      notice: { error: v(9) },
    }).value,
    suppressionsPage(lang, { csrf: 'c', rows: [{ address: v(10), reason: 'owner', note: v(11), added: 'x' }], form: { address: v(12), note: v(13) }, notice: { error: v(14) }, olderHref: '/admin/operations/suppressions?before=1_YQ' }).value,
    alertsPage(lang, { events: [{ at: 'x', form: v(15), detail: v(16) }], mails: [mail(17)] }).value,
    outboxPage(lang, { csrf: 'c', rows: [mail(20), { ...mail(23), state: 'sent' }], filter: { kind: 'notify' }, counts: { dead: 1 } }).value,
    mailPage(lang, view({ type: 'decoded', mail: { from: v(40), to: v(41), replyTo: v(42), subject: v(43), date: 'x', attachments: [{ filename: v(44), contentType: 'text/plain', size: 1 }], text: v(45) } })).value,
    mailPage(lang, view({ type: 'raw', text: v(46) })).value,
    mailPage(lang, { ...view({ type: 'payload', text: v(47) }), kind: 'webhook' }).value,
    mailPage(lang, view({ type: 'stored', text: v(48) })).value,
  ];
}

describe('operations pages', () => {
  it('property: no shown value adds a tag or leaves an attribute, in either language', () => {
    const blank = { ja: pages('ja', () => 'a'), en: pages('en', () => 'a') };
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 50, maxLength: 50 }), fc.constantFrom<Lang>('ja', 'en'), (vals, lang) => {
        const got = pages(lang, (i) => vals[i]!);
        got.forEach((page, i) => {
          expect(count(page, '<'), `page ${i}`).toBe(count(blank[lang][i]!, '<'));
          expect(count(page, '"'), `page ${i}`).toBe(count(blank[lang][i]!, '"'));
        });
      }),
      { numRuns: 200 },
    );
  });

  it('visitor text sits in <bdi> or a dir="auto" block, so a right-to-left override cannot reorder the page', () => {
    const [, , supp, , , decoded] = pages('en', (i) => `v${i}\u202E`);
    expect(supp).toContain('<td><bdi>v10\u202E</bdi></td>');
    expect(supp).toContain('<td><bdi>v11\u202E</bdi></td>');
    expect(decoded).toContain('<dd><bdi>v43\u202E</bdi></dd>');
    expect(decoded).toContain('<div class="mail-text value" dir="auto">v45\u202E</div>');
  });
});
