// `{{field}}` templates. Rendering never fails: an unknown placeholder renders as nothing, and the
// configuration lint reports it before the server starts.
// The same grammar as the relay lint (src/relay/placeholders.ts), so nothing renders that the lint did not see.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

export function render(template: string, values: Readonly<Record<string, string | undefined>>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '');
}

// C0 and C1 controls, DEL and the Unicode line/paragraph separators break a header line (a space instead);
// bidi overrides, isolates and marks reorder what a mail client shows (an RLO makes "gpj.exe" read "exe.jpg"):
// they are dropped.
const HEADER_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text safe for any header: no control character (C0, C1, DEL), no line separator, no bidi control. */
export function headerSafe(text: string): string {
  return text.replace(BIDI_CONTROLS, '').replace(HEADER_BREAKING, ' ');
}

/** A header value: one line, no control or bidi characters, bounded length. */
export function headerText(text: string, max = 200): string {
  const line = headerSafe(text).replace(/\s+/g, ' ').trim();
  const chars = [...line];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : line;
}

/** Whether `zone` is an IANA time-zone name this Node.js knows (Asia/Tokyo, UTC, Europe/Berlin). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();
/** Per zone and language, per quarter hour: the zone's offset and its name then (offsets change only on quarter hours). */
const zoneQuarters = new Map<string, Map<number, { offsetMs: number; name: string }>>();
const QUARTER = 15 * 60_000;
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * A moment as people in `timeZone` read it: "2026-12-05 03:10:53 JST" (ja) or "2026-12-05 03:10:53 GMT+9"
 * (en); UTC stays "… UTC" in both. Intl is asked once per quarter hour of a zone (a listing of many rows
 * would otherwise spend most of its time in formatToParts); the digits come from the offset.
 */
export function formatInZone(at: Date, timeZone: string, lang: 'ja' | 'en'): string {
  const key = `${timeZone}|${lang}`;
  let quarters = zoneQuarters.get(key);
  if (!quarters) {
    quarters = new Map();
    zoneQuarters.set(key, quarters);
  }
  const ms = at.getTime();
  const q = Math.floor(ms / QUARTER);
  let zone = quarters.get(q);
  if (!zone) {
    let f = zoneFormats.get(key);
    if (!f) {
      f = new Intl.DateTimeFormat(lang === 'ja' ? 'ja-JP' : 'en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        timeZoneName: 'short',
      });
      zoneFormats.set(key, f);
    }
    const start = q * QUARTER;
    const p = Object.fromEntries(f.formatToParts(start).map((x) => [x.type, x.value]));
    const local = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
    zone = { offsetMs: local - start, name: p.timeZoneName ?? '' };
    if (quarters.size > 10_000) quarters.clear();
    quarters.set(q, zone);
  }
  const d = new Date(ms + zone.offsetMs);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${zone.name}`;
}
