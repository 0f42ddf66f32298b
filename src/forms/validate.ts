// Validating a visitor's fields against the form definition. Returns clean values or per-field errors;
// malformed requests (repeated fields, non-text values, NUL bytes, too many fields) are a BadInput.
import { createHash } from 'node:crypto';
import type { Config, FieldConfig, FormConfig } from '../config/schema.js';
import { sanitizeFilename } from '../attachments/filename.js';
import { DEFAULT_ATTACHMENTS, fileFieldLimits } from '../attachments/limits.js';
import { sniff } from '../attachments/sniff.js';
import { UploadedFile } from '../attachments/uploaded.js';
import { parseEmail } from './email.js';

export type RawFields = Record<string, unknown>;
export type FieldErrorCode =
  | 'required'
  | 'too_long'
  | 'too_short'
  | 'pattern'
  | 'email'
  | 'tel'
  | 'url'
  | 'option'
  | 'single_line'
  | 'repeated'
  | 'not_text'
  | 'control_chars'
  | 'file_type'
  | 'file_too_large'
  | 'too_many_files'
  | 'not_file';
export interface FieldError {
  code: FieldErrorCode;
  max?: number;
  min?: number;
}

/** A file that passed its field's checks: type sniffed from the bytes, name cleaned for display only. */
export interface AcceptedFile {
  field: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  data: Buffer;
}

export type ValidationResult =
  | { ok: true; values: Record<string, string>; files: AcceptedFile[] }
  | { ok: false; errors: Record<string, FieldError>; badInput?: string };

/** Names the form may send besides its own fields (protocol fields of the widget, submit buttons). */
export const SYSTEM_FIELDS = new Set(['lang', 'submit', '_token', '_hp', 'altcha', '_captcha', '_captcha_token', 'cf-turnstile-response', 'h-captcha-response', 'g-recaptcha-response']);
/** How many unknown fields are ignored before the request counts as malformed. */
export const MAX_UNKNOWN_FIELDS = 20;

const DEFAULT_MAX: Record<FieldConfig['type'], number> = {
  text: 200, email: 254, tel: 30, url: 2000, textarea: 10_000, select: 200, checkbox: 1000, radio: 200, hidden: 1000, file: 0,
};

// C0 controls except TAB/LF/CR, DEL, and NUL in particular.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function validateFields(
  form: FormConfig,
  raw: RawFields,
  extraAllowed: ReadonlySet<string> = SYSTEM_FIELDS,
  attachments: Config['attachments'] = DEFAULT_ATTACHMENTS,
): ValidationResult {
  const errors: Record<string, FieldError> = {};
  const values: Record<string, string> = {};
  const files: AcceptedFile[] = [];
  const known = fieldNames(form);
  let unknown = 0;
  for (const [key, value] of Object.entries(raw)) {
    if (known.has(key) || extraAllowed.has(key)) continue;
    unknown++;
    if (typeof value !== 'string' && !Array.isArray(value)) return { ok: false, errors: {}, badInput: `field "${key.slice(0, 40)}" is not text` };
  }
  if (unknown > MAX_UNKNOWN_FIELDS) return { ok: false, errors: {}, badInput: `too many unknown fields (${unknown})` };

  for (const field of form.fields) {
    const got = raw[field.name];
    if (field.type === 'file') {
      const error = checkFiles(field, got, attachments, files);
      if (error) errors[field.name] = error;
      continue;
    }
    const multi = field.type === 'checkbox' && (field.options?.length ?? 0) > 0;
    let list: string[];
    if (got === undefined || got === null) list = [];
    else if (typeof got === 'string') list = [got];
    else if (Array.isArray(got) && got.every((v) => typeof v === 'string')) list = got as string[];
    else {
      errors[field.name] = { code: 'not_text' };
      continue;
    }
    if (list.length > 1 && !multi) {
      errors[field.name] = { code: 'repeated' };
      continue;
    }
    if (list.some((v) => CONTROL.test(v))) {
      errors[field.name] = { code: 'control_chars' };
      continue;
    }
    const error = multi ? checkMulti(field, list, values) : checkOne(field, list[0] ?? '', values);
    if (error) errors[field.name] = error;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, values, files };
}

/**
 * A file field: only files the multipart parser made (UploadedFile) count; an empty string (a JSON or
 * urlencoded post, an empty input) is no file. Each file's type is sniffed from its bytes and must be one
 * the field accepts; the declared type and the name's extension play no part.
 */
function checkFiles(field: FieldConfig, got: unknown, attachments: Config['attachments'], out: AcceptedFile[]): FieldError | null {
  const list = got === undefined || got === null ? [] : Array.isArray(got) ? got : [got];
  const uploads = list.filter((v) => v !== '');
  if (!uploads.every((v) => v instanceof UploadedFile)) return { code: 'not_file' };
  if (uploads.length === 0) return field.required ? { code: 'required' } : null;
  const limits = fileFieldLimits({ attachments }, field);
  if (uploads.length > limits.maxFiles) return { code: 'too_many_files', max: limits.maxFiles };
  const accepted: AcceptedFile[] = [];
  for (const file of uploads as UploadedFile[]) {
    if (file.size > limits.maxBytes) return { code: 'file_too_large', max: limits.maxBytes };
    const type = sniff(file.data);
    if (!type.ok || !limits.accept.has(type.family)) return { code: 'file_type' };
    accepted.push({
      field: field.name,
      filename: sanitizeFilename(file.filename, type.family),
      contentType: type.contentType,
      size: file.size,
      sha256: createHash('sha256').update(file.data).digest('hex'),
      data: file.data,
    });
  }
  out.push(...accepted);
  return null;
}

function checkMulti(field: FieldConfig, list: string[], out: Record<string, string>): FieldError | null {
  const allowed = new Set(field.options!.map((o) => o.value));
  const picked = [...new Set(list.map((v) => v.trim()).filter((v) => v !== ''))];
  if (picked.length === 0) return field.required ? { code: 'required' } : ((out[field.name] = ''), null);
  if (!picked.every((v) => allowed.has(v))) return { code: 'option' };
  out[field.name] = picked.join(', ');
  return null;
}

function checkOne(field: FieldConfig, input: string, out: Record<string, string>): FieldError | null {
  const singleLine = field.type !== 'textarea';
  let value = field.type === 'textarea' ? input.replace(/\r\n?/g, '\n') : input;
  value = value.trim();
  if (value === '') {
    if (field.required) return { code: 'required' };
    out[field.name] = '';
    return null;
  }
  if (singleLine && /[\r\n]/.test(value)) return { code: 'single_line' };
  const max = field.maxLength ?? DEFAULT_MAX[field.type];
  const length = codePoints(value);
  if (length > max) return { code: 'too_long', max };
  if (field.minLength !== undefined && length < field.minLength) return { code: 'too_short', min: field.minLength };
  switch (field.type) {
    case 'email': {
      const email = parseEmail(value);
      if (!email) return { code: 'email' };
      value = email;
      break;
    }
    case 'tel':
      if (!/^\+?[0-9０-９][0-9０-９ ()\-－‐ー]{5,28}$/.test(value)) return { code: 'tel' };
      break;
    case 'url':
      if (!isHttpUrl(value)) return { code: 'url' };
      break;
    case 'select':
    case 'radio':
      if (!field.options!.some((o) => o.value === value)) return { code: 'option' };
      break;
    case 'checkbox':
      if (field.options?.length) {
        if (!field.options.some((o) => o.value === value)) return { code: 'option' };
      }
      break;
    default:
      break;
  }
  if (field.pattern && !patternOf(field.pattern).test(value)) return { code: 'pattern' };
  out[field.name] = value;
  return null;
}

// Made once per form and pattern, not per post.
const namesOf = new WeakMap<FormConfig, ReadonlySet<string>>();
function fieldNames(form: FormConfig): ReadonlySet<string> {
  let names = namesOf.get(form);
  if (!names) namesOf.set(form, (names = new Set(form.fields.map((f) => f.name))));
  return names;
}
const patterns = new Map<string, RegExp>();
function patternOf(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) {
    if (patterns.size >= 1000) patterns.clear();
    patterns.set(pattern, (re = new RegExp(`^(?:${pattern})$`, 'u')));
  }
  return re;
}

/** The length in code points, as [...s].length counts it (a lone surrogate is one), without making the array. */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
