// Request body parsers that turn malformed input into a 400, never a 500: strict UTF-8, bounded
// nesting for JSON, strict percent-decoding for urlencoded, and multipart with files only for a form's
// file fields, within their limits (413 otherwise; see readMultipart).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UploadLimits } from '../attachments/limits.js';
import { BadInputError, MAX_PAIRS } from './input-errors.js';
import { readMultipart } from './multipart.js';

export { BadInputError, UploadError } from './input-errors.js';

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

export interface BodyParserOptions {
  /** The upload limits of the form a request posts to; null (or no resolver) takes no files. */
  uploadLimits?: (req: FastifyRequest) => UploadLimits | null;
}

export function registerBodyParsers(app: FastifyInstance, opts: BodyParserOptions = {}): void {
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
  // Read as it streams in, within its own limits (src/http/multipart.ts).
  const fieldBytes = app.initialConfig.bodyLimit ?? 65536;
  app.addContentTypeParser('multipart/form-data', (req, payload, done) => {
    readMultipart(payload, req.headers, opts.uploadLimits?.(req) ?? null, fieldBytes).then(
      (body) => done(null, body),
      (e: Error) => done(e, undefined),
    );
  });
}
