// Text a visitor or owner reads, in Japanese and English: one string for both, or { ja, en } (a missing one
// falls back to the other).
import { z } from 'zod';

export const localized = z.union([
  z.string().transform((s) => ({ ja: s, en: s })),
  z.strictObject({ ja: z.string().optional(), en: z.string().optional() }).transform((o) => ({
    ja: o.ja ?? o.en ?? '',
    en: o.en ?? o.ja ?? '',
  })),
]);
export type Localized = { ja: string; en: string };
