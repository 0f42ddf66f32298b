// Caps known to be full, so that a form flooded past its budget does not count the same charges again for
// every post (the count was the accept path's costliest statement under a flood). A full cap stays full
// until enough of its charges leave its window, and charges only grow in between, except for refunds (a
// cancelled auto-reply, an erased mail). So the writer remembers, per key, the time its oldest surplus
// charge leaves the window, and forgets it:
// - at that time (on the submission clock: exact, also under a test's fixed clock);
// - when this process gives caps back (capsGivenBack(): every refund path calls it);
// - after RECHECK_MS of real time, for refunds by other processes sharing the database (or one still
//   committing when the key was counted);
// - all at once when a group's transaction fails (its own charges, which a later post of the group counted,
//   are rolled back).
// Remembering errs one way only: a post may be told "full" up to RECHECK_MS after another process refunded,
// so its auto-reply is skipped (fail closed for auto-replies); a budget is never spent twice.
import type { CapKey } from './caps.js';

/** How long a remembered full cap is trusted without a new count (other processes' refunds). */
export const RECHECK_MS = 1000;
/** Keys remembered at most; a larger set starts over (each key costs one count to learn again). */
const MAX_KEYS = 4096;

let givenBack = 0;
/** Called by every path that deletes cap charges before they expire: remembered full caps are counted again. */
export function capsGivenBack(): void {
  givenBack++;
}

interface Full {
  /** The limit it was full at (a reloaded configuration may raise it). */
  limit: number;
  /** Submission-clock time (ms) when the key has room again, all else equal. */
  until: number;
  /** Real time (performance.now) after which the key is counted again. */
  recheckAt: number;
  /** capsGivenBack's count when learned. */
  era: number;
}

export class FullCaps {
  private readonly keys = new Map<string, Full>();

  /**
   * The index of the first of `keys` remembered full at `at` (submission clock), or -1. The keys before it
   * are still to be counted: the first full key in order is the one a skipped auto-reply names.
   */
  firstFull(keys: readonly CapKey[], at: number): number {
    if (this.keys.size === 0) return -1;
    const now = performance.now();
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const f = this.keys.get(k.key);
      if (!f) continue;
      if (at < f.until && now < f.recheckAt && f.era === givenBack && k.limit <= f.limit) return i;
      this.keys.delete(k.key);
    }
    return -1;
  }

  /** Forgets every key (a transaction that counted charges of its own failed). */
  forget(): void {
    this.keys.clear();
  }

  /**
   * Remembers a key found full: `surplusAt` is the time of its charge whose expiry makes room (the
   * (count - limit + 1)-th oldest in its window), or null if none will (a limit of 0).
   */
  remember(key: CapKey, surplusAt: number | null): void {
    if (this.keys.size >= MAX_KEYS) this.keys.clear();
    const until = surplusAt === null ? Number.POSITIVE_INFINITY : surplusAt + key.windowSeconds * 1000;
    this.keys.set(key.key, { limit: key.limit, until, recheckAt: performance.now() + RECHECK_MS, era: givenBack });
  }
}

/** The offset, among a full key's charges in its window oldest first, of the one whose expiry makes room. */
export const surplusOffset = (key: CapKey, count: number): number | null => (key.limit <= 0 ? null : count - key.limit);

/** Its query (SQLite placeholders; $n for PostgreSQL by the caller): the key, the window's start, the offset. */
export const SURPLUS_AT_SQL = 'select at from relay_charges where key = ? and at > ? order by at limit 1 offset ?';
