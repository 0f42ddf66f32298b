// WordPress keeps Contact Form 7's mail settings as PHP-serialized arrays (postmeta _mail, _mail_2). The
// parsing is php-serialize's: s:N: counts UTF-8 bytes, so Japanese text round-trips. PHP objects are
// refused (no class is in scope), and only own keys are read from the result.
import { unserialize } from 'php-serialize';

export class PhpSerializeError extends Error {
  override name = 'PhpSerializeError';
}

/**
 * The value of a serialized PHP string. When the export tool turned CRLF line ends into LF (which makes
 * every s:N: length too long), the text is read again with CRLF, and `repaired` says so.
 */
export function phpUnserialize(text: string): { value: unknown; repaired: boolean } {
  try {
    return { value: unserialize(text, {}, { strict: true }), repaired: false };
  } catch (first) {
    if (!/\n/.test(text)) throw new PhpSerializeError(`not PHP-serialized data: ${(first as Error).message}`);
    const fixed = recountLineEnds(text);
    if (fixed === null) throw new PhpSerializeError(`not PHP-serialized data: ${(first as Error).message}`);
    try {
      return { value: unserialize(fixed, {}, { strict: true }), repaired: true };
    } catch {
      throw new PhpSerializeError(`not PHP-serialized data: ${(first as Error).message}`);
    }
  }
}

/**
 * XML turns every CRLF into LF (XML 1.0, 2.11), so a value WordPress serialized with CRLF line ends reads
 * back with each s:N: too long by its number of line ends. This walks the serialized value and, for each
 * string whose length only fits with LF counted as CRLF, writes its real byte length. Null if the text is
 * not serialized data at all.
 */
export function recountLineEnds(text: string): string | null {
  const buf = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  let p = 0;
  let copied = 0;
  const at = (re: RegExp) => {
    re.lastIndex = 0;
    const m = re.exec(buf.toString('latin1', p, Math.min(buf.length, p + 40)));
    return m && m.index === 0 ? m : null;
  };
  while (p < buf.length) {
    const c = String.fromCharCode(buf[p]!);
    if (c === 's') {
      const m = at(/s:(\d+):"/y);
      if (!m) return null;
      const n = Number(m[1]);
      const start = p + m[0].length;
      const closes = (end: number) => buf[end] === 0x22 && buf[end + 1] === 0x3b;
      let end = start + n;
      if (!closes(end)) {
        // The first '";' the length can reach if some of the LFs before it were CRLF, followed by a value.
        let lfs = 0;
        let found = -1;
        for (let e = start; e < buf.length && e - start <= n; e++) {
          if (closes(e) && n <= e - start + lfs && nextIsValue(buf, e + 2)) {
            found = e;
            break;
          }
          if (buf[e] === 0x0a) lfs++;
        }
        if (found === -1) return null;
        end = found;
        out.push(buf.subarray(copied, p), Buffer.from(`s:${end - start}:"`, 'latin1'));
        copied = start;
      }
      p = end + 2;
    } else if (c === 'a') {
      const m = at(/a:\d+:\{/y);
      if (!m) return null;
      p += m[0].length;
    } else if (c === 'i' || c === 'd' || c === 'b') {
      const m = at(/[idb]:[-+0-9.eEINFA]+;/y);
      if (!m) return null;
      p += m[0].length;
    } else if (c === 'N' && buf[p + 1] === 0x3b) p += 2;
    else if (c === '}' || c === ';') p += 1;
    else return null;
  }
  out.push(buf.subarray(copied));
  return Buffer.concat(out).toString('utf8');
}

/** A PHP array as a string map: own keys only, scalars as strings (true -> "1", false/null -> ""). */
export function phpStringMap(value: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (value === null || typeof value !== 'object') return out;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === 'string') out.set(key, v);
    else if (typeof v === 'number' || typeof v === 'bigint') out.set(key, String(v));
    else if (typeof v === 'boolean') out.set(key, v ? '1' : '');
    else if (v === null || v === undefined) out.set(key, '');
  }
  return out;
}

function nextIsValue(buf: Buffer, at: number): boolean {
  if (at >= buf.length) return true;
  return /^(?:[sa]:\d+:|[idb]:[-+0-9.eEINFA]+;|N;|\})/.test(buf.toString('latin1', at, at + 24));
}
