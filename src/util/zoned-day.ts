// The moment a calendar day starts in an IANA time zone (a date filter "from 2026-12-05" in Tokyo means
// 2026-12-04T15:00Z). Intl gives the zone's offset at a moment; one correction step covers DST changes.
const formats = new Map<string, Intl.DateTimeFormat>();

function offsetMs(at: number, timeZone: string): number {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formats.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - Math.floor(at / 1000) * 1000;
}

/** Epoch ms of 00:00 of `ymd` (YYYY-MM-DD) in `timeZone`, or null when it is not a date. */
export function zonedDayStart(ymd: string, timeZone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) return null;
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(utc) || new Date(utc).getUTCDate() !== Number(m[3])) return null;
  let t = utc - offsetMs(utc, timeZone);
  t = utc - offsetMs(t, timeZone);
  return t;
}
