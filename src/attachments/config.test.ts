// Configuration of file fields: the relay lint refuses an auto-reply that names a file field, the schema
// refuses unknown families and file options on other fields; validation of file fields on its own.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../config/load.js';
import { validateFields } from '../forms/validate.js';
import { lintForm } from '../relay/template-lint.js';
import { UploadedFile } from './uploaded.js';
import { files } from './test-files.js';

const yaml = (field: string, autoreply = 'autoreply: { to: email, subject: "Thanks", body: "Receipt {{receipt_id}}" }') => `
forms:
  - id: apply
    title: Apply
    fields:
      - { name: email, type: email, required: true }
      - { name: message, type: textarea }
      - ${field}
    notify: { to: [owner@example.jp], body: "{{message}}\\n{{photo}}" }
    ${autoreply}
`;

describe('file fields in the configuration', () => {
  it('a file field with defaults loads; the notification may name it', () => {
    const config = parseConfigText(yaml('{ name: photo, type: file }'), 'test');
    expect(config.forms[0]!.fields[2]).toMatchObject({ name: 'photo', type: 'file' });
    expect(config.attachments).toEqual({ maxFileBytes: 5 * 1024 * 1024, maxFiles: 3, maxTotalBytes: 10 * 1024 * 1024, accept: ['image', 'pdf'] });
    expect(config.retention.attachments).toBe('90d');
  });

  it('the relay lint refuses an auto-reply that names a file field, in the subject or the body, whatever the echo mode', () => {
    for (const autoreply of [
      'autoreply: { to: email, subject: "Got {{photo}}", body: "Receipt {{receipt_id}}" }',
      'autoreply: { to: email, subject: "Thanks", body: "Your file: {{photo}}" }',
      'autoreply: { to: email, echo: sanitized, subject: "Thanks", body: "{{message}} {{ photo }}" }',
    ]) {
      expect(() => parseConfigText(yaml('{ name: photo, type: file }', autoreply), 'test'), autoreply).toThrow(ConfigError);
      try {
        parseConfigText(yaml('{ name: photo, type: file }', autoreply), 'test');
      } catch (e) {
        expect((e as Error).message).toContain('uses the file field {{photo}}: files a visitor sends go to the owner only');
      }
    }
    const issues = lintForm({
      id: 'apply',
      fields: [{ name: 'email', type: 'email' }, { name: 'photo', type: 'file' }],
      notify: { to: ['owner@example.jp'], subject: '{{photo}}' },
      autoreply: { enabled: true, to: 'email', subject: 'Thanks', body: '{{photo}}', echo: 'none' },
    });
    expect(issues.filter((i) => i.severity === 'error').map((i) => i.code)).toEqual(['E_AUTOREPLY_FILE_FIELD']);
  });

  it('the schema refuses unknown families, file options on other fields, and limits out of range', () => {
    expect(() => parseConfigText(yaml('{ name: photo, type: file, accept: [exe] }'), 'test')).toThrow(/use families or groups/);
    expect(() => parseConfigText(yaml('{ name: photo, type: text, maxBytes: 1000 }'), 'test')).toThrow(/maxBytes is for fields of type file only/);
    expect(() => parseConfigText(yaml('{ name: photo, type: file, maxBytes: 100000000 }'), 'test')).toThrow(ConfigError);
  });
});

describe('validateFields: file fields', () => {
  const config = parseConfigText(yaml('{ name: photo, type: file, required: true, accept: [image], maxFiles: 2, maxBytes: 1000 }'), 'test');
  const form = config.forms[0]!;
  const file = (data: Buffer, name = 'a.png') => new UploadedFile('photo', name, data);

  it('accepts sniffed images, with a cleaned name and the hash; keeps files out of the text values', () => {
    const r = validateFields(form, { email: 'a@example.jp', photo: [file(files.png(100), 'x/../shot'), file(files.jpeg(100), 'b.jpeg')] }, undefined, config.attachments);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.values).not.toHaveProperty('photo');
    expect(r.files.map((f) => [f.filename, f.contentType, f.size])).toEqual([
      ['shot.png', 'image/png', 108],
      ['b.jpeg', 'image/jpeg', 113],
    ]);
    expect(r.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('required, too many, too large, wrong type, and strings that pretend to be files', () => {
    const code = (photo: unknown) => {
      const r = validateFields(form, { email: 'a@example.jp', photo }, undefined, config.attachments);
      return r.ok ? 'ok' : r.errors.photo?.code;
    };
    expect(code(undefined)).toBe('required');
    expect(code('')).toBe('required');
    expect(code([file(files.png(10)), file(files.png(10)), file(files.png(10))])).toBe('too_many_files');
    expect(code([file(files.png(2000))])).toBe('file_too_large');
    expect(code([file(files.pdf())])).toBe('file_type');
    expect(code([file(files.svg(), 'a.png')])).toBe('file_type');
    expect(code('AAAA')).toBe('not_file');
    expect(code({ filename: 'a.png', data: files.png() })).toBe('not_file');
  });
});
