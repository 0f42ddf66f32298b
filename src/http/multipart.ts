// multipart/form-data read by a content-type parser (busboy, the parser @fastify/multipart wraps), so it costs
// nothing to the requests that are not multipart: the plugin added two hooks to every request (and our
// preValidation hook a third), which cost the urlencoded accept path about 5% of its CPU (bench/intake.ts).
// Fields become strings (an array when repeated) and files UploadedFile[] per file field, every limit enforced
// while the body streams in: the text of all fields together within the body limit, each file within its
// field's maxBytes, the files of a field within its maxFiles, all files within the post's total. The first
// limit passed ends the read (413, or 400 for a body that is not well-formed); nothing has been stored by then.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import type { UploadLimits } from '../attachments/limits.js';
import { UploadedFile } from '../attachments/uploaded.js';
import { BadInputError, MAX_PAIRS, UploadError } from './input-errors.js';

type Body = Record<string, string | string[] | UploadedFile[]>;

function add(body: Record<string, unknown>, name: string, value: unknown): void {
  const prev = body[name];
  if (prev === undefined) body[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else body[name] = [prev, value];
}

/** Reads a multipart body from `stream` (the request); `limits` null takes no files. */
export function readMultipart(stream: Readable, headers: IncomingHttpHeaders, limits: UploadLimits | null, fieldBytes: number): Promise<Body> {
  return new Promise<Body>((resolve, reject) => {
    // Parts in the order they came (a file is complete only at its end, after later parts may have begun).
    const parts: { name: string; value: string | UploadedFile | null }[] = [];
    const biggestFile = limits ? Math.max(...[...limits.fields.values()].map((f) => f.maxBytes)) : 0;
    let bb: BusboyInstance;
    try {
      bb = new Busboy({ headers: headers as BusboyHeaders, limits: { fields: MAX_PAIRS, fieldSize: fieldBytes, parts: MAX_PAIRS, files: limits?.maxFiles ?? 0, fileSize: biggestFile + 1 } });
    } catch {
      // No boundary, or not multipart/form-data at all.
      reject(new BadInputError('the multipart body is malformed'));
      return;
    }
    let settled = false;
    let sawData = false;
    let finished = false;
    let filesOpen = 0;
    let textBytes = 0;
    let fileBytes = 0;
    const perField = new Map<string, number>();
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      // The rest of the body is read and dropped, so that the answer reaches a client still sending.
      stream.unpipe(bb);
      stream.resume();
      reject(e);
    };
    const done = () => {
      if (settled || !finished || filesOpen > 0) return;
      settled = true;
      const body: Record<string, unknown> = Object.create(null);
      for (const { name, value } of parts) {
        if (typeof value === 'string') add(body, name, value);
        else if (value) {
          // Files are always a list, with a text value sent under the same name beside them.
          const list = body[name];
          if (Array.isArray(list)) list.push(value);
          else if (list === undefined) body[name] = [value];
          else body[name] = [list, value];
        }
      }
      resolve(body as Body);
    };
    const tooMany = () => fail(new BadInputError(`too many fields (more than ${MAX_PAIRS})`));
    bb.on('partsLimit', tooMany);
    bb.on('fieldsLimit', tooMany);
    bb.on('filesLimit', () => fail(limits ? new UploadError('E_TOO_MANY_FILES', limits.maxFiles) : new BadInputError('file uploads are not accepted')));
    bb.on('field', (name: string, value: string, nameTruncated: boolean, valueTruncated: boolean) => {
      if (nameTruncated || valueTruncated) return fail(new UploadError('E_FIELD_TOO_LARGE', fieldBytes, name));
      textBytes += Buffer.byteLength(value) + name.length;
      if (textBytes > fieldBytes) return fail(new UploadError('E_FIELD_TOO_LARGE', fieldBytes));
      parts.push({ name, value });
    });
    bb.on('file', (name: string, file: Readable, filename: string) => {
      const field = limits?.fields.get(name);
      if (!limits || !field) {
        file.resume();
        return fail(new BadInputError(limits ? `the field "${name.slice(0, 40)}" does not take files` : 'file uploads are not accepted'));
      }
      filesOpen++;
      const entry: { name: string; value: UploadedFile | null } = { name, value: null };
      parts.push(entry);
      const chunks: Buffer[] = [];
      let size = 0;
      file.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        fileBytes += chunk.length;
        if (size > field.maxBytes) return fail(new UploadError('E_FILE_TOO_LARGE', field.maxBytes, name));
        if (fileBytes > limits.maxTotalBytes) return fail(new UploadError('E_UPLOAD_TOO_LARGE', limits.maxTotalBytes));
        chunks.push(chunk);
      });
      file.on('limit', () => fail(new UploadError('E_FILE_TOO_LARGE', field.maxBytes, name)));
      file.on('error', () => fail(new BadInputError('the multipart body is malformed')));
      file.on('end', () => {
        filesOpen--;
        if (settled) return;
        // A file input left empty still sends a part, with no name and no bytes: that is no file.
        if (size > 0) {
          const count = (perField.get(name) ?? 0) + 1;
          if (count > field.maxFiles) return fail(new UploadError('E_TOO_MANY_FILES', field.maxFiles, name));
          perField.set(name, count);
          entry.value = new UploadedFile(name, filename ?? '', Buffer.concat(chunks, size));
        }
        done();
      });
    });
    bb.on('error', (e: Error) => {
      // An empty body is an empty form, not a cut-off one.
      if (!sawData && e.message === 'Unexpected end of multipart data') {
        finished = true;
        return done();
      }
      fail(new BadInputError('the multipart body is malformed'));
    });
    bb.on('finish', () => {
      finished = true;
      done();
    });
    stream.once('data', () => (sawData = true));
    stream.on('error', (e) => fail(e));
    stream.on('close', () => {
      if (!settled && !stream.readableEnded) fail(new BadInputError('the request was cut off'));
    });
    stream.pipe(bb);
  });
}
