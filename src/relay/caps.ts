// Cap policy for mail sent to visitor-supplied addresses. Pure description:
// the caller backs each returned key with a counter (SQL, Redis, ...) and
// refuses the mail if any counter is at its limit.

import { normalizeAddress } from './address.js';
import type { RelayCapsView } from './types.js';

export interface CapWindow {
  count: number;
  windowSeconds: number;
}

export interface CapPolicy {
  /** null = off (only reachable through `caps: null` or an explicit null in the form config). */
  perAddress: CapWindow | null;
  perDomain: CapWindow | null;
  perFormHour: number | null;
  perFormDay: number | null;
  /** Service-wide backstop; not configurable per form, never off. */
  global: { perHour: number; perDay: number };
  /** The budget of the form's site (config `sites:`): only its forms draw from it; none for a form in no site. */
  site?: { id: string; perHour: number; perDay: number };
}

export const HOUR = 3600;
export const DAY = 86_400;

export const DEFAULT_CAPS: Readonly<CapPolicy> = Object.freeze({
  perAddress: Object.freeze({ count: 1, windowSeconds: DAY }),
  perDomain: Object.freeze({ count: 5, windowSeconds: HOUR }),
  perFormHour: 20,
  perFormDay: 100,
  global: Object.freeze({ perHour: 200, perDay: 1000 }),
});

/**
 * Merge a form's `autoreply.caps` over the defaults: a missing key keeps the
 * default, null turns that cap off, `caps: null` turns every form-level cap off.
 */
export function resolveCapPolicy(
  view: RelayCapsView | null | undefined,
  defaults: Readonly<CapPolicy> = DEFAULT_CAPS,
): CapPolicy {
  const pick = <T>(v: T | null | undefined, d: T): T | null => (v === undefined ? d : v);
  if (view === null) {
    return { perAddress: null, perDomain: null, perFormHour: null, perFormDay: null, global: { ...defaults.global } };
  }
  return {
    perAddress: pick(view?.perAddress, defaults.perAddress),
    perDomain: pick(view?.perDomain, defaults.perDomain),
    perFormHour: pick(view?.perFormHour, defaults.perFormHour),
    perFormDay: pick(view?.perFormDay, defaults.perFormDay),
    global: { ...defaults.global },
  };
}

/** True if at least one form-level cap is on (global caps do not count). */
export function hasFormLevelCap(policy: CapPolicy): boolean {
  return (
    policy.perAddress !== null || policy.perDomain !== null || policy.perFormHour !== null || policy.perFormDay !== null
  );
}

export type CapScope = 'address' | 'domain' | 'form-hour' | 'form-day' | 'site-hour' | 'site-day' | 'global-hour' | 'global-day';

export interface CapKey {
  key: string;
  limit: number;
  windowSeconds: number;
  scope: CapScope;
}

const enc = (s: string): string => encodeURIComponent(s);

function domainOf(normalizedAddress: string): string {
  const at = normalizedAddress.lastIndexOf('@');
  return at === -1 ? normalizedAddress : normalizedAddress.slice(at + 1);
}

/**
 * Every budget one mail to `address` draws from. The address is keyed on its canonical mailbox
 * (normalizeAddress, idempotent), so every spelling of one mailbox draws from one budget.
 *
 * Address and domain counters are shared by all forms (a bot gains nothing by
 * spreading over forms); the window length is part of the key so forms with
 * different windows never share a counter. Form counters are per form id.
 * Keys are opaque strings; every variable part is URI-encoded so no input
 * can collide with another key's structure.
 */
export function capKeys(formId: string, address: string, policy: Readonly<CapPolicy> = DEFAULT_CAPS): CapKey[] {
  return mailboxCapKeys(formId, normalizeAddress(address), policy);
}

/** capKeys for an address already canonical (normalizeAddress's result, as the auto-reply plan's key is). */
export function mailboxCapKeys(formId: string, normalizedAddress: string, policy: Readonly<CapPolicy> = DEFAULT_CAPS): CapKey[] {
  const keys: CapKey[] = [];
  if (policy.perAddress) {
    const { count, windowSeconds } = policy.perAddress;
    keys.push({ key: `relay:address:${windowSeconds}:${enc(normalizedAddress)}`, limit: count, windowSeconds, scope: 'address' });
  }
  if (policy.perDomain) {
    const { count, windowSeconds } = policy.perDomain;
    keys.push({ key: `relay:domain:${windowSeconds}:${enc(domainOf(normalizedAddress))}`, limit: count, windowSeconds, scope: 'domain' });
  }
  for (const k of sharedCapKeys(formId, policy)) keys.push(k);
  return keys;
}

/** The keys that do not depend on the address (form, site, global), made once per form and policy object. */
const shared = new WeakMap<Readonly<CapPolicy>, Map<string, readonly CapKey[]>>();
function sharedCapKeys(formId: string, policy: Readonly<CapPolicy>): readonly CapKey[] {
  let byForm = shared.get(policy);
  if (!byForm) shared.set(policy, (byForm = new Map()));
  let keys = byForm.get(formId);
  if (keys) return keys;
  const out: CapKey[] = [];
  if (policy.perFormHour !== null) out.push({ key: `relay:form:${enc(formId)}:hour`, limit: policy.perFormHour, windowSeconds: HOUR, scope: 'form-hour' });
  if (policy.perFormDay !== null) out.push({ key: `relay:form:${enc(formId)}:day`, limit: policy.perFormDay, windowSeconds: DAY, scope: 'form-day' });
  if (policy.site) {
    const site = enc(policy.site.id);
    out.push({ key: `relay:site:${site}:hour`, limit: policy.site.perHour, windowSeconds: HOUR, scope: 'site-hour' });
    out.push({ key: `relay:site:${site}:day`, limit: policy.site.perDay, windowSeconds: DAY, scope: 'site-day' });
  }
  out.push({ key: 'relay:global:hour', limit: policy.global.perHour, windowSeconds: HOUR, scope: 'global-hour' });
  out.push({ key: 'relay:global:day', limit: policy.global.perDay, windowSeconds: DAY, scope: 'global-day' });
  keys = Object.freeze(out.map((k) => Object.freeze(k)));
  // A policy made per call (a caller that does not keep it) must not grow the map without bound.
  if (byForm.size < 1000) byForm.set(formId, keys);
  return keys;
}

/** "24h", "1h", "15m", "90s": for human-readable reports. */
export function formatWindow(seconds: number): string {
  if (seconds > 0 && seconds % HOUR === 0) return `${seconds / HOUR}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** Human-readable list of the caps in force, e.g. "cap 1/address/24h". */
export function describeCaps(policy: Readonly<CapPolicy>): string[] {
  const out: string[] = [];
  if (policy.perAddress) out.push(`cap ${policy.perAddress.count}/address/${formatWindow(policy.perAddress.windowSeconds)}`);
  if (policy.perDomain) out.push(`cap ${policy.perDomain.count}/domain/${formatWindow(policy.perDomain.windowSeconds)}`);
  if (policy.perFormHour !== null) out.push(`cap ${policy.perFormHour}/form/1h`);
  if (policy.perFormDay !== null) out.push(`cap ${policy.perFormDay}/form/24h`);
  if (policy.site) out.push(`site ${policy.site.id} cap ${policy.site.perHour}/1h, ${policy.site.perDay}/24h`);
  out.push(`global cap ${policy.global.perHour}/1h, ${policy.global.perDay}/24h`);
  return out;
}

/** Problems with cap numbers (non-positive or non-integer), as [path suffix, reason]. */
export function capProblems(view: RelayCapsView | null | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!view) return out;
  const positiveInt = (n: number): boolean => Number.isSafeInteger(n) && n > 0;
  for (const k of ['perAddress', 'perDomain'] as const) {
    const w = view[k];
    if (!w) continue;
    if (!positiveInt(w.count)) out.push([`${k}.count`, `must be a whole number above 0, got ${w.count}`]);
    if (!positiveInt(w.windowSeconds)) out.push([`${k}.windowSeconds`, `must be a whole number above 0, got ${w.windowSeconds}`]);
  }
  for (const k of ['perFormHour', 'perFormDay'] as const) {
    const n = view[k];
    if (n !== null && n !== undefined && !positiveInt(n)) out.push([k, `must be a whole number above 0, got ${n}`]);
  }
  return out;
}
