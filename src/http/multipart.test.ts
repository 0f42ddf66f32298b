// readMultipart against a model: any mix of fields and files, streamed in any chunking, comes out exactly as
// sent when it is within every limit, and is refused with the error of a limit it passed otherwise.
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UploadLimits } from '../attachments/limits.js';
import { UploadedFile } from '../attachments/uploaded.js';
import { BadInputError, UploadError } from './input-errors.js';
import { readMultipart } from './multipart.js';

type Part = { kind: 'field'; name: string; value: string } | { kind: 'file'; name: string; filename: string; data: Buffer };

const BOUNDARY = 'fwB0undary7e3f';
const headers = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

function encode(parts: Part[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const disposition = p.kind === 'field' ? `form-data; name="${p.name}"` : `form-data; name="${p.name}"; filename="${p.filename}"`;
    out.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${p.kind === 'file' ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n`));
    out.push(p.kind === 'field' ? Buffer.from(p.value) : p.data);
    out.push(Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(out);
}

/** The body cut into pieces at the given offsets, as a request stream delivers it. */
function streamOf(body: Buffer, cuts: number[]): Readable {
  const at = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const c of [...at, body.length]) {
    if (c > from) pieces.push(body.subarray(from, c));
    from = Math.max(from, c);
  }
  return Readable.from(pieces);
}

const FILE_FIELDS = ['doc', 'photo'];
const part: fc.Arbitrary<Part> = fc.oneof(
  fc.record({ kind: fc.constant('field' as const), name: fc.constantFrom('name', 'email', 'message', 'doc'), value: fc.string({ unit: 'grapheme', maxLength: 40 }) }),
  fc.record({
    kind: fc.constant('file' as const),
    name: fc.constantFrom('doc', 'photo', 'message'),
    filename: fc.constantFrom('a.pdf', '写真.jpg', ''),
    data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  }),
);
const limitsArb = fc.record({
  fieldBytes: fc.integer({ min: 20, max: 400 }),
  maxBytes: fc.integer({ min: 1, max: 300 }),
  perFieldFiles: fc.integer({ min: 1, max: 3 }),
  maxFiles: fc.integer({ min: 1, max: 4 }),
  maxTotalBytes: fc.integer({ min: 1, max: 600 }),
  takesFiles: fc.boolean(),
});
type L = { fieldBytes: number; maxBytes: number; perFieldFiles: number; maxFiles: number; maxTotalBytes: number; takesFiles: boolean };

function uploadLimits(l: L): UploadLimits | null {
  if (!l.takesFiles) return null;
  const field = { maxBytes: l.maxBytes, maxFiles: l.perFieldFiles, accept: new Set<never>() };
  return { fields: new Map(FILE_FIELDS.map((f) => [f, field])), maxFiles: l.maxFiles, maxTotalBytes: l.maxTotalBytes };
}

/** The model: what each limit says about these parts (the codes of every limit they pass), and the body otherwise. */
function model(parts: Part[], l: L): { passed: Set<string>; body: Record<string, unknown> } {
  const passed = new Set<string>();
  const body: Record<string, unknown> = {};
  let text = 0;
  let total = 0;
  const perField = new Map<string, number>();
  const files = parts.filter((p) => p.kind === 'file');
  if (files.length > 0 && !l.takesFiles) passed.add('bad-input');
  if (l.takesFiles && files.length > l.maxFiles) passed.add('E_TOO_MANY_FILES');
  for (const p of parts) {
    if (p.kind === 'field') {
      text += Buffer.byteLength(p.value) + p.name.length;
      if (text > l.fieldBytes || Buffer.byteLength(p.value) > l.fieldBytes) passed.add('E_FIELD_TOO_LARGE');
      const prev = body[p.name];
      body[p.name] = prev === undefined ? p.value : Array.isArray(prev) ? [...prev, p.value] : [prev, p.value];
      continue;
    }
    if (!FILE_FIELDS.includes(p.name)) {
      passed.add('bad-input');
      continue;
    }
    total += p.data.length;
    if (p.data.length > l.maxBytes) passed.add('E_FILE_TOO_LARGE');
    if (total > l.maxTotalBytes) passed.add('E_UPLOAD_TOO_LARGE');
    if (p.data.length === 0) continue;
    const n = (perField.get(p.name) ?? 0) + 1;
    perField.set(p.name, n);
    if (n > l.perFieldFiles) passed.add('E_TOO_MANY_FILES');
    // A text value sent under a file field's name stays beside the files (validation refuses it).
    const prev = body[p.name];
    const file = new UploadedFile(p.name, p.filename, p.data);
    body[p.name] = prev === undefined ? [file] : Array.isArray(prev) ? [...prev, file] : [prev, file];
  }
  return { passed, body };
}

const codeOf = (e: unknown) => (e instanceof UploadError ? e.code : e instanceof BadInputError ? 'bad-input' : `other: ${String(e)}`);

describe('readMultipart', () => {
  it('within every limit: the fields and files exactly as sent, whatever the chunking; past one: that limit named', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(part, { maxLength: 8 }), limitsArb, fc.array(fc.nat(), { maxLength: 12 }), async (parts, l, cuts) => {
        const expected = model(parts, l);
        const got = await readMultipart(streamOf(encode(parts), cuts), headers, uploadLimits(l), l.fieldBytes).then(
          (body) => ({ body }),
          (error: unknown) => ({ error }),
        );
        if (expected.passed.size === 0) {
          expect(got).toEqual({ body: expected.body });
        } else {
          expect('error' in got).toBe(true);
          expect([...expected.passed]).toContain(codeOf((got as { error: unknown }).error));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a body that is not well-formed multipart is a bad input, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(part, { maxLength: 4 }), fc.nat(), fc.uint8Array({ maxLength: 40 }), async (parts, cutAt, junk) => {
        const whole = encode(parts);
        // Cut short before the closing delimiter, with junk after: never a complete body.
        const body = Buffer.concat([whole.subarray(0, cutAt % Math.max(1, whole.length - 8)), Buffer.from(junk)]);
        const limits = uploadLimits({ fieldBytes: 10_000, maxBytes: 10_000, perFieldFiles: 9, maxFiles: 9, maxTotalBytes: 10_000, takesFiles: true });
        const got = await readMultipart(Readable.from([body]), headers, limits, 10_000).then(
          () => 'resolved',
          (e: unknown) => codeOf(e),
        );
        // An empty body is an empty form; anything else cut short is refused as bad input.
        if (body.length > 0) expect(got).toBe('bad-input');
      }),
      { numRuns: 200 },
    );
    await expect(readMultipart(Readable.from([Buffer.from('x')]), { 'content-type': 'multipart/form-data' }, null, 100)).rejects.toBeInstanceOf(BadInputError);
    expect(await readMultipart(Readable.from([]), headers, null, 100)).toEqual({});
  });

  it('a request cut off in the middle of its body is refused, not left waiting', async () => {
    const body = encode([{ kind: 'field', name: 'message', value: 'x'.repeat(200) }]);
    const stream = new Readable({ read() {} });
    const reading = readMultipart(stream, headers, null, 10_000);
    stream.push(body.subarray(0, 60));
    stream.destroy();
    await expect(reading).rejects.toBeInstanceOf(BadInputError);
  });
});
