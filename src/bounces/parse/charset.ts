// Charset decoding for bounce texts. Works on "binary" strings (one char per byte, latin1)
// so that the structural parsing never depends on the declared charset.
import iconv from 'iconv-lite';

const ALIASES: Record<string, string> = {
  'x-sjis': 'shift_jis', 'sjis': 'shift_jis', 'shift-jis': 'shift_jis', 'ms932': 'cp932', 'windows-31j': 'cp932',
  'x-euc-jp': 'euc-jp', 'eucjp': 'euc-jp', 'utf8': 'utf-8', 'us-ascii': 'latin1', 'ascii': 'latin1',
  'iso-2022-jp-2': 'iso-2022-jp', 'iso-2022-jp-3': 'iso-2022-jp', 'csiso2022jp': 'iso-2022-jp', 'x-unknown': 'utf-8',
};

export function normalizeCharset(cs: string): string {
  const c = cs.trim().toLowerCase().replace(/^["']|["']$/g, '');
  return ALIASES[c] ?? c;
}

/** Convert a binary (latin1) string to a Buffer without copying semantics issues. */
export function binToBuf(bin: string): Buffer {
  return Buffer.from(bin, 'latin1');
}

/** Decode ISO-2022-JP by mapping JIS X 0208 byte pairs to EUC-JP and decoding that. */
export function decodeIso2022jp(buf: Buffer): string {
  const out: number[] = [];
  let mode: 'ascii' | 'jis' | 'kana' = 'ascii';
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === 0x1b && i + 2 < buf.length) {
      const b1 = buf[i + 1]!, b2 = buf[i + 2]!;
      if (b1 === 0x24 && (b2 === 0x42 || b2 === 0x40)) { mode = 'jis'; i += 2; continue; }
      if (b1 === 0x24 && b2 === 0x28 && i + 3 < buf.length) { mode = 'jis'; i += 3; continue; } // ESC $ ( D etc.
      if (b1 === 0x28 && (b2 === 0x42 || b2 === 0x4a)) { mode = 'ascii'; i += 2; continue; }
      if (b1 === 0x28 && b2 === 0x49) { mode = 'kana'; i += 2; continue; }
    }
    if (b === 0x0a || b === 0x0d) { out.push(b); continue; }
    if (mode === 'jis' && b >= 0x21 && b <= 0x7e && i + 1 < buf.length) {
      out.push(b | 0x80, buf[i + 1]! | 0x80); i++; continue;
    }
    if (mode === 'kana' && b >= 0x21 && b <= 0x5f) { out.push(0x8e, b | 0x80); continue; }
    if (b === 0x0e) { mode = 'kana'; continue; }
    if (b === 0x0f) { mode = 'ascii'; continue; }
    out.push(b);
  }
  return iconv.decode(Buffer.from(out), 'euc-jp');
}

function looksUtf8(buf: Buffer): boolean {
  // Cheap validity check: Buffer round-trip without replacement chars.
  const s = buf.toString('utf8');
  return !s.includes('\ufffd');
}

/** Decode bytes (given as a binary string) in the declared charset; never throws. */
export function decodeText(bin: string, charset: string | undefined): string {
  // Fast path: pure ASCII needs no conversion.
  if (!/[\x80-\xff\x1b]/.test(bin)) return bin;
  const buf = binToBuf(bin);
  let cs = normalizeCharset(charset ?? '');
  if (bin.includes('\x1b$B') || bin.includes('\x1b$@')) cs = 'iso-2022-jp';
  else if (cs === 'iso-2022-jp') cs = looksUtf8(buf) ? 'utf-8' : 'euc-jp'; // mislabelled 8-bit Japanese text
  if (/^(?:utf-?16|utf-?32|ucs-?2)/.test(cs) && !bin.includes('\x00')) cs = ''; // mislabelled wide charset
  try {
    if (cs === 'iso-2022-jp') return decodeIso2022jp(buf);
    if (cs === '' || cs === 'utf-8') {
      if (looksUtf8(buf)) return buf.toString('utf8');
      return iconv.decode(buf, 'latin1');
    }
    if (iconv.encodingExists(cs)) return iconv.decode(buf, cs);
  } catch {
    // fall through
  }
  // Unknown or wrong charset: prefer UTF-8 when valid, else Latin-1 (keeps ASCII intact).
  return looksUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1');
}
