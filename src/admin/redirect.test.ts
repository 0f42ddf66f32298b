// safeNext: whatever a form or query says, the browser is sent to a page of this console (an open redirect
// would let a phishing link log the owner in and then land on another site), and real console paths survive.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeNext } from './redirect.js';

const ORIGIN = 'https://forms.example.jp';

/** Where a browser on a console page goes with Location: <next>. */
const landing = (next: string) => new URL(next, `${ORIGIN}/admin/inbox`);

// Pieces attackers put together: other origins, scheme-relative and backslash forms, encoded dots and slashes,
// whitespace the URL parser drops, user-info, and the login page (a loop after login).
const piece = fc.constantFrom('/', '//', '\\', '/\\', 'admin', '/admin/', '/admin', 'login', '/admin/login', '..', '%2e%2e', '%2E', '%2e', '.', '/./', 'log%69n', '%2f', '%5c', '@', 'evil.example', 'https:', 'javascript:', '\t', '\n', ' ', '?', '#', '&', '=', '.', 'inbox', 'x');
// Most start like a console path, which is what gets past a prefix check.
const attack = fc.tuple(fc.constantFrom('', '/admin/', '/admin/x/'), fc.array(piece, { minLength: 1, maxLength: 8 })).map(([start, p]) => start + p.join(''));
const segment = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,11}$/);
const consolePath = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.option(fc.tuple(segment, segment), { nil: undefined }))
  .filter(([segs]) => segs[0] !== 'login')
  .map(([segs, q]) => `/admin/${segs.join('/')}${q ? `?${q[0]}=${q[1]}` : ''}`);

describe('safeNext (property)', () => {
  it('any input lands on a console page of this origin, never the login page', () => {
    fc.assert(
      fc.property(fc.oneof(attack, fc.string(), fc.webUrl(), consolePath), (next) => {
        const to = landing(safeNext(next));
        expect(to.origin).toBe(ORIGIN);
        // The path as the router sees it (percent-decoded).
        const path = decodeURIComponent(to.pathname);
        expect(path.startsWith('/admin/')).toBe(true);
        expect(path.startsWith('/admin/login')).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
  it('a console path is kept as it is', () => {
    fc.assert(
      fc.property(consolePath, (next) => {
        expect(safeNext(next)).toBe(next);
      }),
    );
  });
  it('examples', () => {
    for (const bad of ['//evil.example/admin/', '/admin//evil.example', '/admin/../x', 'https://evil.example/admin/', '/admin/\\evil.example', '/admin/login?next=/admin/x', '/admin/%2e%2e/f/contact', '/admin/./login', '/admin/log%69n', null, 42]) expect(safeNext(bad)).toBe('/admin/inbox');
    expect(safeNext('/admin/submissions/s_1?form=contact')).toBe('/admin/submissions/s_1?form=contact');
    expect(safeNext('/admin/inbox?q=%E5%95%8F%E3%81%84%E5%90%88%E3%82%8F%E3%81%9B')).toBe('/admin/inbox?q=%E5%95%8F%E3%81%84%E5%90%88%E3%82%8F%E3%81%9B');
  });
});
