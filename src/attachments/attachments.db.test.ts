// Files to the owner only, end to end over HTTP on a real database and a real SMTP sink: limits enforced
// while the body streams (413, nothing stored), types sniffed from the bytes (400), an allowed file stored
// with its submission and attached to the owner's notification, never to the auto-reply; retention.
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { prepareForm } from '../client/protocol.js';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { pruneAttachments, pruneRefused } from '../submissions/prune.js';
import { attachmentUsage, insertAttachments } from './store.js';
import { files } from './test-files.js';

const FORMS = `
  - id: apply
    title: { ja: 応募, en: Apply }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: false, label: { ja: 内容, en: Message } }
      - { name: photo, type: file, accept: [image, pdf], maxBytes: 20000, maxFiles: 2, label: { ja: 写真, en: Photo } }
    notify: { to: [owner@example.jp], subject: "[Apply] {{name}}" }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}" }
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
    notify: { to: [owner@example.jp] }
`;

type Upload = { name: string; type: string; data: Buffer; field?: string };

describe.skipIf(dbUnavailable())('attachments: to the owner only', () => {
  const sink = new SmtpSink();
  let port = 0;
  let t: TestInstance;

  beforeAll(async () => {
    port = await sink.start();
  });
  afterAll(async () => {
    await sink.stop();
  });
  beforeEach(async () => {
    sink.received.length = 0;
    t = await startTestInstance({ forms: FORMS, smtp: `smtp://127.0.0.1:${port}`, startWorker: false, extra: 'attachments: { maxTotalBytes: 30000 }' });
  });
  afterEach(async () => {
    await t.close();
  });

  const db = () => t.instance.db.kysely;
  const counts = async () => ({
    submissions: Number((await db().selectFrom('submissions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
    attachments: Number((await db().selectFrom('attachments').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
    outbox: Number((await db().selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
  });
  const nothing = { submissions: 0, attachments: 0, outbox: 0 };

  /** A multipart post as a browser sends it, with the form's protocol fields. */
  const post = async (uploads: Upload[], opts: { form?: string; path?: 'api' | 'page'; fields?: Record<string, string> } = {}) => {
    const form = opts.form ?? 'apply';
    const prepared = await prepareForm(t.url, form);
    const body = new FormData();
    for (const [k, v] of Object.entries({ ...prepared.fields, name: '山田 太郎', email: 'taro@example.jp', message: 'hello', ...(opts.fields ?? {}) })) body.append(k, v);
    for (const u of uploads) body.append(u.field ?? 'photo', new Blob([new Uint8Array(u.data)], { type: u.type }), u.name);
    const url = opts.path === 'page' ? `${t.url}/f/${form}?lang=en` : `${t.url}/api/forms/${form}/submissions`;
    return fetch(url, { method: 'POST', body, headers: { accept: opts.path === 'page' ? 'text/html' : 'application/json' }, redirect: 'manual' });
  };

  it('an allowed file is stored with its submission and attached to the owner notification only', async () => {
    const photo = files.jpeg(3000);
    const res = await post([{ name: '../../写真\u202Egpj.exe.jpg', type: 'application/x-msdownload', data: photo }]);
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const stored = await db().selectFrom('attachments').selectAll().where('submission_id', '=', id).execute();
    expect(stored).toHaveLength(1);
    const sha = createHash('sha256').update(photo).digest('hex');
    expect(stored[0]).toMatchObject({ field: 'photo', filename: '写真gpj.exe.jpg', content_type: 'image/jpeg', size: photo.length, sha256: sha });
    expect(Buffer.from(stored[0]!.data).equals(photo)).toBe(true);
    expect(await attachmentUsage(db())).toEqual({ files: 1, bytes: photo.length });

    await t.instance.worker.drain();
    const owner = sink.to('owner@example.jp');
    expect(owner).toHaveLength(1);
    const att = owner[0]!.parsed.attachments;
    expect(att).toHaveLength(1);
    expect(att[0]!.filename).toBe('写真gpj.exe.jpg');
    expect(att[0]!.contentType).toBe('image/jpeg');
    expect(createHash('sha256').update(att[0]!.content).digest('hex')).toBe(sha);
    expect(owner[0]!.parsed.text).toContain('写真gpj.exe.jpg (image/jpeg, 2.9 KB)');

    const reply = sink.to('taro@example.jp');
    expect(reply).toHaveLength(1);
    expect(reply[0]!.parsed.attachments).toHaveLength(0);
    const raw = reply[0]!.raw.toString('latin1');
    expect(raw).not.toContain('写真');
    expect(raw).not.toMatch(/gpj|multipart\/mixed|Content-Disposition: attachment|image\/jpeg/i);
    expect(raw).not.toContain(sha);
    expect(raw).not.toContain(photo.subarray(0, 300).toString('base64').slice(0, 60));
    expect(reply[0]!.raw.includes(photo.subarray(10, 80))).toBe(false);
  });

  it('a file over its field maxBytes: 413 while streaming, and nothing stored', async () => {
    const res = await post([{ name: 'big.jpg', type: 'image/jpeg', data: files.jpeg(25_000) }]);
    expect(res.status).toBe(413);
    // The rest of the body is read and dropped, not cut off: a client (or proxy) still sending gets this answer.
    expect(res.headers.get('connection')).not.toBe('close');
    expect(await res.json()).toMatchObject({ error: { code: 'E_FILE_TOO_LARGE', limit: 20000, field: 'photo' } });
    expect(await counts()).toEqual(nothing);
  });

  it('files over the total: 413, nothing stored; too many files: 413, nothing stored', async () => {
    const two = await post([
      { name: 'a.jpg', type: 'image/jpeg', data: files.jpeg(16_000) },
      { name: 'b.jpg', type: 'image/jpeg', data: files.jpeg(16_000) },
    ]);
    expect(two.status).toBe(413);
    expect(((await two.json()) as { error: { code: string } }).error.code).toBe('E_UPLOAD_TOO_LARGE');
    const three = await post([0, 1, 2].map((i) => ({ name: `${i}.png`, type: 'image/png', data: files.png(100) })));
    expect(three.status).toBe(413);
    expect(((await three.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'E_TOO_MANY_FILES', message: expect.stringContaining('2件まで') });
    expect(await counts()).toEqual(nothing);
  });

  it('a disallowed type is refused whatever its name and declared type: 400, nothing stored', async () => {
    const cases: Upload[] = [
      { name: 'photo.jpg', type: 'image/jpeg', data: files.exe() },
      { name: 'image.png', type: 'image/png', data: files.svg() },
      { name: 'page.pdf', type: 'application/pdf', data: files.html() },
      { name: 'notes.txt', type: 'text/plain', data: files.text() }, // text is a family this field does not accept
      { name: 'report.docx', type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', data: files.docm() },
    ];
    for (const c of cases) {
      const res = await post([c]);
      expect(res.status, c.name).toBe(400);
      const body = (await res.json()) as { error: { code: string; fields: Record<string, { code: string; message: string }> } };
      expect(body.error.code).toBe('E_VALIDATION');
      expect(body.error.fields.photo).toMatchObject({ code: 'file_type' });
    }
    expect(await counts()).toEqual(nothing);
  });

  it('a form without file fields takes no files (400, as before); a file in a text field is refused', async () => {
    const res = await post([{ name: 'a.jpg', type: 'image/jpeg', data: files.jpeg() }], { form: 'contact' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_BAD_INPUT');
    const wrongField = await post([{ name: 'a.jpg', type: 'image/jpeg', data: files.jpeg(), field: 'message' }]);
    expect(wrongField.status).toBe(400);
    expect(await counts()).toEqual(nothing);
  });

  it('JSON posts to a form with a file field still work without a file; a string is not a file', async () => {
    const prepared = await prepareForm(t.url, 'apply');
    const send = (extra: Record<string, unknown>) =>
      fetch(`${t.url}/api/forms/apply/submissions`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ ...prepared.fields, name: 'a', email: 'a@example.jp', ...extra }) });
    const forged = await send({ photo: { filename: 'x.jpg', data: 'AAAA', _buf: 'AAAA' } });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { error: { fields: Record<string, { code: string }> } }).error.fields.photo!.code).toBe('not_file');
    const ok = await send({});
    expect(ok.status).toBe(201);
    expect((await counts()).attachments).toBe(0);
  });

  it('the hosted page posts multipart, shows the limits, and answers an oversize file with a 413 page in the visitor language', async () => {
    const page = await (await fetch(`${t.url}/f/apply?lang=ja`)).text();
    expect(page).toContain('enctype="multipart/form-data"');
    expect(page).toMatch(/<input type="file" id="f-photo" name="photo" accept="[^"]*image\/jpeg[^"]*application\/pdf[^"]*" multiple/);
    expect(page).toContain('1ファイル19.5 KBまで、2件まで。');
    const contact = await (await fetch(`${t.url}/f/contact`)).text();
    expect(contact).not.toContain('enctype=');

    const big = await post([{ name: 'big.jpg', type: 'image/jpeg', data: files.jpeg(25_000) }], { path: 'page' });
    expect(big.status).toBe(413);
    expect(big.headers.get('content-type')).toMatch(/text\/html/);
    expect(await big.text()).toContain('A file is too large (at most 19.5 KB per file)');
    const bad = await post([{ name: 'x.png', type: 'image/png', data: files.svg() }], { path: 'page' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('This kind of file is not accepted');
    expect(await counts()).toEqual(nothing);

    const good = await post([{ name: 'scan.pdf', type: 'application/pdf', data: files.pdf(500) }], { path: 'page' });
    expect(good.status).toBe(303);
    expect((await counts()).attachments).toBe(1);
  });

  it('retention: files go with a pruned submission, and on their own after retention.attachments', async () => {
    const kept = await post([{ name: 'a.png', type: 'image/png', data: files.png(1000) }]);
    expect(kept.status).toBe(201);
    const keptId = ((await kept.json()) as { id: string }).id;
    // A rejected submission with a file (as one with full proof but a bad score is kept), an hour old.
    const old = Date.now() - 3_600_000;
    await db()
      .insertInto('submissions')
      .values({ id: 's_rejected', form_id: 'apply', created_at: old, ip: '192.0.2.1', user_agent: '', lang: 'ja', fields: '{}', action: 'reject', score: 20, verdict: '{}', autoreply: 'none', notify: 'none', content_hash: '', autoreply_to: null })
      .execute();
    await insertAttachments(db(), 's_rejected', [{ field: 'photo', filename: 'x.png', contentType: 'image/png', size: 1208, sha256: '0'.repeat(64), data: files.png(1200) }], old);
    expect(await attachmentUsage(db())).toMatchObject({ files: 2 });

    expect(await pruneRefused(db(), Date.now() - 60_000)).toBe(1);
    expect(await db().selectFrom('attachments').select('submission_id').execute()).toEqual([{ submission_id: keptId }]);

    expect(await pruneAttachments(db(), Date.now() - 86_400_000)).toEqual({ files: 0, bytes: 0 });
    expect(await pruneAttachments(db(), Date.now() + 1000)).toEqual({ files: 1, bytes: 1008 });
    expect(await attachmentUsage(db())).toEqual({ files: 0, bytes: 0 });
    expect(await db().selectFrom('submissions').select('id').where('id', '=', keptId).execute()).toHaveLength(1);
  });
});
