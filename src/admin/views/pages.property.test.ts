// Escaped by construction: whatever a visitor typed, the console's pages gain no markup from it. The count
// of '<' and '"' in a page (the only ways into a tag or out of an attribute) does not depend on the values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SubmissionDetail } from '../../submissions/detail.js';
import { html } from './html.js';
import { inboxPage, submissionPage } from './pages.js';

const hostile = fc
  .array(fc.oneof(fc.constantFrom('<', '>', '"', "'", '&', '</dd>', '<script>', '" onmouseover="x', '\u202E', '\u2066', '&lt;', '\u0000', '`', '${x}'), fc.string({ unit: 'grapheme', maxLength: 6 })), { maxLength: 10 })
  // Never empty: an empty value leaves out its optional part, which changes the page's shape by design.
  .map((p) => `a${p.join('')}`);

const count = (s: string, ch: string) => s.split(ch).length - 1;

function detail(v: (i: number) => string): SubmissionDetail {
  return {
    id: 's_1',
    receipt: 'AAAA-BBBB',
    form: 'contact',
    formTitle: v(0),
    created: '2026-12-04T00:00:00.000Z',
    createdLocal: '2026-12-04 09:00:00 JST',
    lang: 'ja',
    ip: v(1),
    userAgent: v(2),
    action: 'quarantine',
    score: 6,
    refused: null,
    autoreply: 'skipped:x',
    notify: 'digest',
    fields: [
      { name: 'name', label: v(3), value: v(4) },
      { name: 'message', label: 'Message', value: v(5) },
    ],
    extraFields: [{ name: 'x', label: v(6), value: v(7) }],
    symbols: [{ symbol: 'CONTENT_URL_IN_FIELD', score: 5, detail: v(8), explanation: 'A URL' }],
    mails: [{ id: 'm_1', kind: 'notify', state: 'dead', to: v(9), subject: v(10), attempts: 3, lastError: v(11), created: '', sent: null, due: null, sentLocal: v(15), dueLocal: v(14) }],
    bounces: [{ at: '', event: 'bounce', mail: 'notify', outbox: 'm_1', address: v(12), reason: v(13), status: '5.1.1', hard: true }],
    files: [{ field: 'f', filename: v(14), contentType: 'image/png', size: 3 }],
    decisions: [{ kind: 'released', by: v(15), at: '2026-12-04 09:00:00 JST', from: 'quarantine' }],
    abuseLinks: ['2026-12-04T00:00:00.000Z'],
    suppressed: true,
  };
}

describe('console pages', () => {
  it('html`` escapes every interpolation and keeps nested html`` as markup', () => {
    expect(html`<p title="${'"><x>'}">${'<b>'}${html`<i>${'&'}</i>`}${['<', html`<br>`]}</p>`.value).toBe('<p title="&quot;&gt;&lt;x&gt;">&lt;b&gt;<i>&amp;</i>&lt;<br></p>');
  });

  it('property: no visitor value adds a tag or leaves an attribute on the inquiry page or the inbox', () => {
    const bd = detail(() => 'a');
    const blankDetail = submissionPage('ja', bd, { csrf: 'a', notice: 'a', decisions: bd.decisions }).value;
    const blankInbox = inboxPage('en', {
      rows: [{ id: 's_1', receipt: 'AAAA-BBBB', form: 'contact', formTitle: 'a', received: '', action: 'reject', score: 10, from: 'a', summary: 'a', reasons: [{ symbol: 'a', score: 1, label: 'a' }], refused: null }],
      forms: [{ id: 'contact', title: 'a' }],
      filter: { q: 'a' },
      isFirstPage: true,
      csrf: 'a',
      back: 'a',
      notice: 'a',
    }).value;
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 16, maxLength: 16 }), (vals) => {
        const d = detail((i) => vals[i]!);
        const page = submissionPage('ja', d, { csrf: vals[15]!, notice: vals[14]!, decisions: d.decisions }).value;
        expect(count(page, '<')).toBe(count(blankDetail, '<'));
        expect(count(page, '"')).toBe(count(blankDetail, '"'));
        const inbox = inboxPage('en', {
          rows: [{ id: 's_1', receipt: 'AAAA-BBBB', form: 'contact', formTitle: vals[0]!, received: '', action: 'reject', score: 10, from: vals[1]!, summary: vals[2]!, reasons: [{ symbol: vals[3]!, score: 1, label: vals[4]! }], refused: null }],
          forms: [{ id: 'contact', title: vals[5]! }],
          filter: { q: vals[6]! },
          isFirstPage: true,
          csrf: vals[7]!,
          back: vals[8]!,
          notice: vals[9]!,
        }).value;
        expect(count(inbox, '<')).toBe(count(blankInbox, '<'));
        expect(count(inbox, '"')).toBe(count(blankInbox, '"'));
      }),
      { numRuns: 300 },
    );
  });
});
