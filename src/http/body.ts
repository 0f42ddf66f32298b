// Request body parsers that turn malformed input into a 400, never a 500: strict UTF-8, bounded
// nesting for JSON, strict percent-decoding for urlencoded, and multipart with files only for a form's
// file fields, within their limits (413 otherwise; see readMultipart).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import type { UploadLimits } from '../attachments/limits.js';
import { UploadedFile } from '../attachments/uploaded.js';

export class BadInputError extends Error {
  readonly statusCode = 400;
  readonly code = 'E_BAD_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

const MAX_PAIRS = 2000;
const MAX_JSON_DEPTH = 8;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(buf: Buffer): string {
  try {
    return utf8.decode(buf);
  } catch {
    throw new BadInputError('the body is not valid UTF-8');
  }
}

/** application/x-www-form-urlencoded, strictly: invalid percent-escapes or UTF-8 are a 400. */
export function parseUrlencoded(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  if (text === '') return out;
  const pairs = text.split('&');
  if (pairs.length > MAX_PAIRS) throw new BadInputError(`too many fields (${pairs.length})`);
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeComponent(eq < 0 ? '' : pair.slice(eq + 1));
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

function decodeComponent(s: string): string {
  const spaced = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw new BadInputError('the body has an invalid percent-escape or invalid UTF-8');
  }
}

/** Nesting depth of a JSON text, counted without parsing it (strings skipped). */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export function parseJsonBody(text: string): Record<string, unknown> {
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw new BadInputError('the JSON is nested too deeply');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadInputError('the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadInputError('the JSON body must be an object of fields');
  const fields = (value as Record<string, unknown>).fields;
  // Accept both {"name": ...} and {"fields": {"name": ...}, "_token": ...}.
  const flat: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (k !== 'fields') flat[k] = v;
  if (fields !== undefined) {
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw new BadInputError('"fields" must be an object');
    for (const [k, v] of Object.entries(fields as Record<string, unknown>)) flat[k] = v;
  }
  if (Object.keys(flat).length > MAX_PAIRS) throw new BadInputError('too many fields');
  return flat;
}

/** An upload over one of its limits: 413 with a code and the limit, and nothing is stored. */
export class UploadError extends Error {
  readonly statusCode = 413;
  constructor(
    readonly code: 'E_FILE_TOO_LARGE' | 'E_TOO_MANY_FILES' | 'E_UPLOAD_TOO_LARGE' | 'E_FIELD_TOO_LARGE',
    /** The limit that was passed (bytes, or a count of files). */
    readonly limit: number,
    /** The field concerned, when there is one. */
    readonly field?: string,
  ) {
    super(`${code}${field ? ` (${field.slice(0, 40)})` : ''}: over the limit of ${limit}`);
    this.name = 'UploadError';
  }
}

export interface BodyParserOptions {
  /** The upload limits of the form a request posts to; null (or no resolver) takes no files. */
  uploadLimits?: (req: FastifyRequest) => UploadLimits | null;
}

export async function registerBodyParsers(app: FastifyInstance, opts: BodyParserOptions = {}): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(decodeUtf8(body as Buffer)));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseUrlencoded(decodeUtf8(body as Buffer)));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  const fieldBytes = app.initialConfig.bodyLimit ?? 65536;
  await app.register(multipart, { limits: { fields: MAX_PAIRS, fieldSize: fieldBytes, files: 0, parts: MAX_PAIRS, fileSize: 0 } });
  app.addHook('preValidation', async (req) => {
    if (!req.isMultipart()) return;
    req.body = await readMultipart(req, opts.uploadLimits?.(req) ?? null, fieldBytes);
  });
}

/**
 * A multipart body as fields (one string, or an array when repeated) and files (UploadedFile[] per file
 * field), every limit enforced while it streams in: the text of all fields together within the body limit,
 * each file within its field's maxBytes, the files of a field within its maxFiles, all files within the
 * post's total. The first limit passed ends the request (413); nothing has been stored by then.
 */
async function readMultipart(req: FastifyRequest, limits: UploadLimits | null, fieldBytes: number): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = Object.create(null);
  const perField = new Map<string, number>();
  let textBytes = 0;
  let fileBytes = 0;
  const biggestFile = limits ? Math.max(...[...limits.fields.values()].map((f) => f.maxBytes)) : 0;
  const parts = req.parts({ limits: { files: limits?.maxFiles ?? 0, fileSize: biggestFile + 1 } });
  try {
    for await (const part of parts) {
      if (part.type === 'field') {
        if (part.valueTruncated || part.fieldnameTruncated) throw new UploadError('E_FIELD_TOO_LARGE', fieldBytes, part.fieldname);
        const value = typeof part.value === 'string' ? part.value : String(part.value);
        textBytes += Buffer.byteLength(value) + part.fieldname.length;
        if (textBytes > fieldBytes) throw new UploadError('E_FIELD_TOO_LARGE', fieldBytes);
        const prev = body[part.fieldname];
        if (prev === undefined) body[part.fieldname] = value;
        else if (Array.isArray(prev)) prev.push(value);
        else body[part.fieldname] = [prev, value];
        continue;
      }
      const field = limits?.fields.get(part.fieldname);
      if (!limits || !field) {
        part.file.resume();
        throw new BadInputError(limits ? `the field "${part.fieldname.slice(0, 40)}" does not take files` : 'file uploads are not accepted');
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        size += chunk.length;
        fileBytes += chunk.length;
        if (size > field.maxBytes) throw new UploadError('E_FILE_TOO_LARGE', field.maxBytes, part.fieldname);
        if (fileBytes > limits.maxTotalBytes) throw new UploadError('E_UPLOAD_TOO_LARGE', limits.maxTotalBytes);
        chunks.push(chunk);
      }
      // A file input left empty still sends a part, with no name and no bytes: that is no file.
      if (size === 0) continue;
      const count = (perField.get(part.fieldname) ?? 0) + 1;
      if (count > field.maxFiles) throw new UploadError('E_TOO_MANY_FILES', field.maxFiles, part.fieldname);
      perField.set(part.fieldname, count);
      const list = body[part.fieldname];
      const file = new UploadedFile(part.fieldname, part.filename ?? '', Buffer.concat(chunks, size));
      if (Array.isArray(list)) list.push(file);
      else if (list === undefined) body[part.fieldname] = [file];
      else body[part.fieldname] = [list, file];
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'FST_FILES_LIMIT') throw limits ? new UploadError('E_TOO_MANY_FILES', limits.maxFiles) : new BadInputError('file uploads are not accepted');
    if (code === 'FST_REQ_FILE_TOO_LARGE' && limits) throw new UploadError('E_FILE_TOO_LARGE', biggestFile);
    throw e;
  }
  return body;
}
