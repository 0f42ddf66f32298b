// Defanging for alert samples: keep spam evidence readable for a human while
// making sure no mail client, chat app or log viewer turns it into a link.

const DOT = '[.。．｡]';
const LABEL = String.raw`[\p{L}\p{N}\p{M}_-]{1,63}`;
const TLD = String.raw`\p{L}[\p{L}\p{N}\p{M}-]{1,62}`;
const HOST = `${LABEL}(?:${DOT}${LABEL}){0,8}${DOT}${TLD}`;
const IPV4 = String.raw`\p{N}{1,3}(?:${DOT}\p{N}{1,3}){3}`;

/** URL | email | bare domain or IPv4, matched in one pass so nothing is defanged twice. */
const TOKEN_RE = new RegExp(
  [
    String.raw`(?<url>[a-z][a-z0-9+.-]{0,31}:\/\/[^\s<>"']*)`,
    // Local part: RFC 5322 atext plus dots (backtick kept out of String.raw: "\`" is invalid with /u).
    '(?<email>[\\p{L}\\p{N}\\p{M}._%+=~!#$&*/?^{|}\'`-]{1,64}@' + HOST + ')',
    `(?<host>${HOST}|${IPV4})`,
  ].join('|'),
  'giu',
);

/** Bracket every dot not already bracketed (keeps defang idempotent). */
const bracketDots = (s: string): string => s.replace(new RegExp(`(?<!\\[)${DOT}(?!\\])`, 'gu'), (d) => `[${d}]`);

function defangUrl(url: string): string {
  const i = url.indexOf('://');
  const scheme = url.slice(0, i);
  // Every dot and '@' of the rest: a domain in the path or query ("?to=evil.com")
  // must not be linkified either.
  const rest = bracketDots(url.slice(i + 3)).replaceAll('@', '[at]');
  const lower = scheme.toLowerCase();
  if (lower === 'http' || lower === 'https') {
    // Keep the original case of the kept letters: hTTp -> hxxp, HTTPS -> HXXPS.
    const x = scheme[1] === 'T' ? 'XX' : 'xx';
    return `${scheme[0]}${x}${scheme.slice(3)}://${rest}`;
  }
  if (lower === 'hxxp' || lower === 'hxxps') return `${scheme}://${rest}`;
  return `${scheme}[://]${rest}`;
}

/** Control characters and bidi/zero-width format characters; newlines become a visible mark. */
function neutralizeChars(s: string): string {
  return s.replace(/\r\n|[\r\n\u2028\u2029]/g, ' ⏎ ').replace(/[\p{Cc}\p{Cf}]/gu, (c) => (c === '\t' ? ' ' : ''));
}

export const DEFANG_MAX = 300;

/**
 * `http://x.ru/a` -> `hxxp://x[.]ru/a`, `a@b.c` -> `a[at]b[.]c`, `x.ru` -> `x[.]ru`,
 * other schemes `ftp://` -> `ftp[://]`. Idempotent. Output is at most
 * `maxLength` code points plus a trailing '…' when cut, on one line.
 */
export function defang(text: string, maxLength: number = DEFANG_MAX): string {
  // Bound the work before matching, then bound the output.
  const cps = Array.from(text);
  const clipped = cps.length > maxLength * 4 + 64 ? cps.slice(0, maxLength * 4 + 64).join('') : text;
  const out = neutralizeChars(clipped).replace(TOKEN_RE, (m, ...args) => {
    const groups = args[args.length - 1] as { url?: string; email?: string; host?: string };
    if (groups.url) return defangUrl(m);
    if (groups.email) {
      const at = m.lastIndexOf('@');
      // Local-part dots too: otherwise "first.name" would read as a domain next pass.
      return `${bracketDots(m.slice(0, at))}[at]${bracketDots(m.slice(at + 1))}`;
    }
    return bracketDots(m);
  });
  const outCps = Array.from(out);
  return outCps.length > maxLength ? `${outCps.slice(0, maxLength).join('')}…` : out;
}
