// Issue #11 item 8, the owner reading inquiries: one submission decoded (labels, option labels, the time in
// the instance's zone, the verdict explained in the owner's language, its mails) and a form's export as CSV
// for Excel (BOM, labels as columns, no cell a spreadsheet would run as a formula) and JSON.
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { acceptSubmission, type IntakeDeps } from './accept.js';
import { getSubmissionDetail } from './detail.js';
import { BOM, csvCell, exportCsv, exportJson, type ExportFilter } from './export.js';

const FORMS = `
  - id: quote
    title: { ja: 見積もり依頼, en: Quote request }
    language: ja
    fields:
      - { name: name, type: text, required: true, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - name: topic
        type: select
        label: { ja: ご用件, en: Topic }
        options: [{ value: est, label: { ja: お見積もり, en: Estimate } }, { value: other, label: { ja: その他, en: Other } }]
      - name: extras
        type: checkbox
        label: { ja: オプション, en: Options }
        options: [{ value: a, label: { ja: 設置, en: Setup } }, { value: b, label: { ja: 保守, en: Support } }]
      - { name: note, type: textarea, label: { ja: お名前, en: Name } }
    notify: { to: [owner@example.jp], subject: "[Quote] {{name}}" }
`;

async function collect(gen: AsyncGenerator<string>): Promise<string> {
  let s = '';
  for await (const c of gen) s += c;
  return s;
}

describe.skipIf(dbUnavailable())('reading inquiries back', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ startWorker: false, forms: FORMS, extra: 'timeZone: Asia/Tokyo' });
  });
  afterAll(async () => {
    await t?.close();
  });
  const form = () => t.instance.config.forms[0]!;
  const deps = (): IntakeDeps => ({ config: t.instance.config, db: t.instance.db, clock: { now: () => new Date('2026-12-04T01:02:03Z') }, fromAddress: 'info@example.jp', defenses: t.instance.defenses });
  // No form token: the plain-HTML-form path (NO_PROOF), so the verdict has symbols to explain.
  const submit = async (raw: Record<string, unknown>) => {
    const r = await acceptSubmission(deps(), { form: form(), raw, ip: '203.0.113.7', userAgent: 'UA/1', lang: 'ja' });
    if (r.kind !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(r)}`);
    return r;
  };

  it('show: fields by label with option labels, the time in the zone, every symbol explained, the mails', async () => {
    const r = await submit({ name: '山田 太郎', email: 'taro@example.jp', topic: 'est', extras: ['a', 'b'], note: '二行\n目' });
    const ja = await getSubmissionDetail(t.instance.db.kysely, t.instance.config, r.id, 'ja');
    expect(ja).not.toBeNull();
    expect(ja!.fields).toEqual([
      { name: 'name', label: 'お名前', value: '山田 太郎' },
      { name: 'email', label: 'メールアドレス', value: 'taro@example.jp' },
      { name: 'topic', label: 'ご用件', value: 'お見積もり' },
      { name: 'extras', label: 'オプション', value: '設置, 保守' },
      { name: 'note', label: 'お名前', value: '二行\n目' },
    ]);
    expect(ja!.createdLocal).toBe('2026-12-04 10:02:03 JST');
    expect(ja!.formTitle).toBe('見積もり依頼');
    expect(ja!.mails.map((m) => m.kind)).toContain('notify');
    expect(ja!.symbols.length).toBeGreaterThan(0);
    for (const s of ja!.symbols) expect(s.explanation, s.symbol).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    const en = await getSubmissionDetail(t.instance.db.kysely, t.instance.config, r.receipt!.toLowerCase().replace('-', ''), 'en');
    expect(en!.id).toBe(r.id);
    expect(en!.fields[2]).toEqual({ name: 'topic', label: 'Topic', value: 'Estimate' });
    for (const s of en!.symbols) expect(s.explanation, s.symbol).toMatch(/^[A-Z]/);
    expect(await getSubmissionDetail(t.instance.db.kysely, t.instance.config, 'ZZZZ-ZZZZ', 'en')).toBeNull();
  });

  it('export: CSV with a BOM and unique label columns reads back to the stored values; JSON likewise', async () => {
    const r = await submit({ name: '=山田(1,2)', email: 'csv@example.jp', topic: 'other', note: 'a,"b"\r\nc' });
    const filter: ExportFilter = { form: 'quote' };
    const csv = await collect(exportCsv(t.instance.db.kysely, t.instance.config, filter, 'ja'));
    expect(csv.startsWith(BOM)).toBe(true);
    const rows = parse(csv.slice(1), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['受付番号', '受付日時', '判定', 'スコア', 'お名前', 'メールアドレス', 'ご用件', 'オプション', 'お名前 (note)', '判定理由', 'id']);
    const row = rows.find((x) => x.id === r.id)!;
    expect(row['お名前']).toBe(`'=山田(1,2)`);
    expect(row['ご用件']).toBe('その他');
    expect(row['お名前 (note)']).toBe('a,"b"\nc'); // stored with line breaks normalised
    expect(row['受付番号']).toBe(r.receipt);
    const json = JSON.parse(await collect(exportJson(t.instance.db.kysely, t.instance.config, filter, 'en'))) as Record<string, unknown>[];
    const j = json.find((x) => x.id === r.id)!;
    expect(j.Name).toBe('=山田(1,2)');
    expect(j['Name (note)']).toBe('a,"b"\nc');
    expect(j.Topic).toBe('Other');
    // Newest first, each row once, across database pages that split rows with the same time.
    for (let i = 0; i < 5; i++) await submit({ name: `p${i}`, email: `p${i}@example.jp` });
    const all = await t.instance.db.kysely.selectFrom('submissions').select('id').where('form_id', '=', 'quote').execute();
    const paged = parse((await collect(exportCsv(t.instance.db.kysely, t.instance.config, { ...filter, pageSize: 2 }, 'en'))).slice(1), { columns: true }) as Record<string, string>[];
    expect(paged.map((x) => x.id).sort()).toEqual(all.map((x) => x.id).sort());
    expect(new Set(paged.map((x) => x.id)).size).toBe(all.length);
    const only = JSON.parse(await collect(exportJson(t.instance.db.kysely, t.instance.config, { ...filter, actions: ['quarantine'] }, 'en'))) as unknown[];
    expect(only).toEqual([]);
  });
});

describe('CSV cells', () => {
  // The attacker's family: any text, weighted towards formula starters, quotes, separators and line breaks.
  const hostile = fc.array(fc.oneof(fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', '"', ',', "'", ';', '|'), fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 12 }).map((p) => p.join(''));

  it('property: every value reads back exactly (apostrophe-prefixed when a spreadsheet would run it) and no cell starts a formula', () => {
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 1, maxLength: 6 }), (values) => {
        const line = `${values.map(csvCell).join(',')}\r\n`;
        const [cells] = parse(line, { relax_quotes: false }) as string[][];
        expect(cells).toHaveLength(values.length);
        cells!.forEach((cell, i) => {
          const v = values[i]!;
          expect(cell).toBe(/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
          expect(cell).not.toMatch(/^[=+\-@\t\r]/);
        });
      }),
      { numRuns: 500 },
    );
  });
});
