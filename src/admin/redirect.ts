// Where the console sends a browser back to (after login, a language switch or an action): a path of the
// console given in a form or query, so it is checked to stay one (never another site, never the login page).

const INBOX = '/admin/inbox';
const BASE = 'http://console.invalid';

/** A path inside the console to come back to; anything else is the inbox. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !/^\/admin\/[\w\-./?=&%]*$/.test(next) || next.includes('//') || next.includes('..')) return INBOX;
  // Judged as the browser will request it: dot segments resolved, and no percent-encoding in the path (the
  // browser resolves %2e%2e as "..", the router decodes the rest). Query values may be encoded.
  const url = new URL(next, BASE);
  const path = url.pathname;
  if (url.origin !== BASE || !path.startsWith('/admin/') || path.includes('%') || path.startsWith('/admin/login')) return INBOX;
  return next;
}
