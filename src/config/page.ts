// The hosted page's branding (`page:` at the top level and in each form; a form's keys win). Everything here
// reaches the page only as escaped text, an attribute or a checked colour: accentColor goes into a stylesheet,
// so only a CSS hex colour passes.
import { z } from 'zod';
import { localized } from './localized.js';

export const HEX_COLOUR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

/** An https:// URL or a path on this server ("/brand/logo.svg"); never javascript:, data: or a "//host" path. */
export function isPageLink(s: string): boolean {
  if (s.length > 2000 || /[\s\u0000-\u001f\u007f\\]/.test(s)) return false;
  if (s.startsWith('/')) return !s.startsWith('//');
  try {
    const u = new URL(s);
    return u.protocol === 'https:' && !!u.hostname && !u.username && !u.password;
  } catch {
    return false;
  }
}

const link = z.string().refine(isPageLink, { message: 'use an https:// URL or a path on this server starting with / (e.g. /brand/logo.svg)' });

export const pageSchema = z.strictObject({
  /** The name in the page's header and title (default: the top-level siteName). */
  siteName: localized.optional(),
  /** Shown in the header instead of the name, with the name as its alt text. */
  logoUrl: link.optional(),
  /** Buttons, links and focus rings: #rgb or #rrggbb only. */
  accentColor: z
    .string()
    .regex(HEX_COLOUR, { message: 'use a CSS hex colour such as #1a73e8 (#rgb or #rrggbb); nothing else goes into the stylesheet' })
    .transform((c) => (c.length === 4 ? `#${c[1]}${c[1]}${c[2]}${c[2]}${c[3]}${c[3]}` : c).toLowerCase())
    .optional(),
  /** Plain text at the foot of every hosted page (company name, address). */
  footerText: localized.optional(),
  /** A "Privacy policy" link in the footer and next to the submit button. */
  privacyUrl: link.optional(),
  /** What happens next, on the thank-you page (replaces the default text; blank lines separate paragraphs). */
  nextSteps: localized.optional(),
});
export type PageConfig = z.output<typeof pageSchema>;
