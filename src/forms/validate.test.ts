import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formSchema } from '../config/schema.js';
import { codePoints, validateFields } from './validate.js';

const form = formSchema.parse({
  id: 'contact',
  title: 'Contact',
  fields: [
    { name: 'name', type: 'text', required: true, maxLength: 10 },
    { name: 'email', type: 'email', required: true },
    { name: 'tel', type: 'tel' },
    { name: 'topic', type: 'select', options: ['a', 'b'] },
    { name: 'tags', type: 'checkbox', options: ['x', 'y'] },
    { name: 'zip', type: 'text', pattern: '\\d{3}-\\d{4}' },
    { name: 'message', type: 'textarea', minLength: 2 },
  ],
  notify: { to: ['owner@example.jp'] },
});

describe('validateFields', () => {
  it('returns clean values', () => {
    const r = validateFields(form, { name: ' 山田 ', email: 'a@EXAMPLE.jp', tel: '03-1234-5678', topic: 'a', tags: ['x', 'y'], zip: '100-0001', message: 'hi\r\nthere' });
    expect(r).toEqual({ ok: true, values: { name: '山田', email: 'a@example.jp', tel: '03-1234-5678', topic: 'a', tags: 'x, y', zip: '100-0001', message: 'hi\nthere' }, files: [] });
  });
  it('names each failing field with a code', () => {
    const r = validateFields(form, { name: 'x'.repeat(11), email: 'a@example.jp, b@example.jp', tel: 'call me', topic: 'c', tags: 'z', zip: '1000001', message: 'x' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual({
      name: { code: 'too_long', max: 10 },
      email: { code: 'email' },
      tel: { code: 'tel' },
      topic: { code: 'option' },
      tags: { code: 'option' },
      zip: { code: 'pattern' },
      message: { code: 'too_short', min: 2 },
    });
  });
  it('counts length in characters, not UTF-16 units', () => {
    expect(validateFields(form, { name: '𠮷'.repeat(10), email: 'a@example.jp' }).ok).toBe(true);
  });
  it('rejects missing required fields, repeated fields, line breaks and NUL bytes', () => {
    const r = validateFields(form, { name: ['a', 'b'], tel: '03\n1234', message: 'a\u0000b' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.name).toEqual({ code: 'repeated' });
    expect(r.errors.email).toEqual({ code: 'required' });
    expect(r.errors.tel).toEqual({ code: 'single_line' });
    expect(r.errors.message).toEqual({ code: 'control_chars' });
  });
  it('rejects non-text values and floods of unknown fields as bad input', () => {
    const nested = validateFields(form, { name: { a: 1 }, email: 'a@example.jp' });
    expect(nested.ok === false && nested.errors.name).toEqual({ code: 'not_text' });
    const flood: Record<string, string> = { name: 'a', email: 'a@example.jp' };
    for (let i = 0; i < 1000; i++) flood[`x${i}`] = 'y';
    const r = validateFields(form, flood);
    expect(r.ok === false && r.badInput).toMatch(/too many unknown fields/);
  });
});

describe('field length in code points', () => {
  it('counts as [...s].length does, surrogate pairs and lone halves included', () => {
    const unit = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('\ud800', '\udc00', '\ud83d\ude00', 'a', '日'));
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 30 }).map((parts) => parts.join('')), (s) => {
        expect(codePoints(s)).toBe([...s].length);
      }),
      { numRuns: 1000 },
    );
  });
});
