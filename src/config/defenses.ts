// The `defenses:` section: which bot defenses run and how they score. Each defense's factory
// validates the details again at start-up (CIDRs, patterns, keys) and names the key when it fails.
import { z } from 'zod';

const action = z.enum(['accept', 'accept_no_autoreply', 'quarantine', 'reject']);
const ipEntry = z.union([
  z.string(),
  z.strictObject({ cidr: z.string(), expires: z.string().optional(), note: z.string().max(500).optional() }),
]);
const countryPolicy = z.union([
  z.strictObject({ allow: z.array(z.string().regex(/^[A-Za-z]{2}$/, { message: 'use ISO 3166 two-letter codes such as JP' })).min(1) }),
  z.strictObject({ deny: z.array(z.string().regex(/^[A-Za-z]{2}$/, { message: 'use ISO 3166 two-letter codes such as CN' })).min(1) }),
  z.strictObject({ score: z.record(z.string().regex(/^[A-Za-z]{2}$/), z.number()) }),
]);
export type CountryPolicyConfig = z.output<typeof countryPolicy>;
export { countryPolicy as countryPolicySchema };

const rateRule = z.strictObject({
  name: z.string().optional(),
  scope: z.enum(['address', 'network', 'form', 'global']),
  points: z.number().int().positive(),
  durationSeconds: z.number().int().positive(),
  blockSeconds: z.number().int().positive().optional(),
  charge: z.enum(['accepted', 'attempt']).optional(),
});

export const defensesSchema = z
  .strictObject({
    /** Score thresholds of the action ladder. */
    actions: z
      .strictObject({ accept_no_autoreply: z.number().default(3), quarantine: z.number().default(6), reject: z.number().default(10) })
      .prefault({}),
    /** Score overrides by symbol (see docs/defenses.md). */
    symbols: z.record(z.string(), z.union([z.number(), z.strictObject({ score: z.number().optional(), description: z.strictObject({ en: z.string(), ja: z.string() }).optional() })])).default({}),
    /** Answer a submission rejected by its score like an accepted one, so a bot learns nothing. */
    silentReject: z.boolean().default(true),
    ipLists: z
      .strictObject({
        allow: z.array(ipEntry).default([]),
        block: z.array(ipEntry).default([]),
        ban: z
          .union([
            z.literal(false),
            z.strictObject({
              maxFailures: z.number().int().positive().optional(),
              windowSeconds: z.number().int().positive().optional(),
              banSeconds: z.number().int().positive().optional(),
              factor: z.number().min(1).optional(),
              maxBanSeconds: z.number().int().positive().optional(),
              rememberSeconds: z.number().int().positive().optional(),
              keyBy: z.enum(['address', 'network']).optional(),
            }),
          ])
          .default({}),
      })
      .prefault({}),
    rateLimit: z
      .strictObject({ enabled: z.boolean().default(true), rules: z.array(rateRule).optional(), refundOn: z.array(action).optional() })
      .prefault({}),
    formToken: z
      .strictObject({
        minFillSeconds: z.number().min(0).default(3),
        maxAgeMinutes: z.number().positive().default(60),
        /**
         * A post without a token (a plain HTML form): accept (stored as NO_PROOF, notified, never auto-replied),
         * flag (scored as TOKEN_MISSING) or reject (403 E_TOKEN_MISSING before anything is stored).
         */
        missing: z.enum(['accept', 'reject', 'flag']).default('accept'),
      })
      .prefault({}),
    honeypot: z
      .strictObject({
        fields: z.array(z.string().regex(/^[a-z_][a-z0-9_]{0,39}$/)).min(1).default(['website']),
      })
      .prefault({}),
    altcha: z
      .strictObject({
        enabled: z.boolean().default(true),
        algorithm: z.enum(['SHA-256', 'SHA-384', 'SHA-512', 'PBKDF2/SHA-256', 'PBKDF2/SHA-384', 'PBKDF2/SHA-512']).optional(),
        // Expected work about (minNumber+maxNumber)/2 x cost PBKDF2 rounds: ~1 s in a phone browser.
        cost: z.number().int().positive().default(1000),
        minNumber: z.number().int().nonnegative().default(200),
        maxNumber: z.number().int().positive().default(1500),
        expiresSeconds: z.number().int().positive().optional(),
        /** Difficulty multiplier while the form's circuit breaker is open. */
        raisedFactor: z.number().min(1).default(4),
      })
      .prefault({}),
    captchaImage: z
      .strictObject({
        enabled: z.boolean().default(false),
        size: z.number().int().min(3).max(8).optional(),
        noise: z.number().int().min(0).max(8).optional(),
        expiresSeconds: z.number().int().positive().optional(),
      })
      .prefault({}),
    captcha: z
      .strictObject({
        provider: z.enum(['recaptcha', 'turnstile', 'hcaptcha']),
        secret: z.string().min(1),
        /** Public site key: with it the hosted page and widget.js show the widget. */
        sitekey: z.string().optional(),
        /** The provider's script (default: its official URL); its origin is allowed by the page's CSP. */
        scriptUrl: z.string().url().optional(),
        verifyUrl: z.string().url().optional(),
        timeoutMs: z.number().int().positive().optional(),
        minScore: z.number().min(0).max(1).optional(),
        action: z.string().optional(),
        hostnames: z.array(z.string()).optional(),
      })
      .optional(),
    geo: z
      .strictObject({
        enabled: z.boolean().default(true),
        countryDb: z.string().optional(),
        asnDb: z.string().optional(),
        default: countryPolicy.optional(),
        unknownCountryWeight: z.number().min(0).optional(),
        asn: z.strictObject({ deny: z.array(z.number().int()).optional(), score: z.record(z.string(), z.number()).optional() }).optional(),
      })
      .prefault({}),
    content: z
      .strictObject({
        enabled: z.boolean().default(true),
        telFields: z.array(z.string()).optional(),
        noUrlFields: z.array(z.string()).optional(),
        messageFields: z.array(z.string()).optional(),
        maxLinks: z.number().int().nonnegative().optional(),
        disallowedWords: z.array(z.string()).optional(),
        disallowedPatterns: z.array(z.string()).optional(),
        duplicate: z.union([z.literal(false), z.strictObject({ windowSeconds: z.number().int().positive().optional(), minLength: z.number().int().optional(), scope: z.enum(['global', 'form']).optional() })]).optional(),
        scriptMismatchLinks: z.number().int().nonnegative().optional(),
      })
      .prefault({}),
    akismet: z
      .strictObject({
        apiKey: z.string().min(1),
        blog: z.string().url(),
        endpoint: z.string().url().optional(),
        timeoutMs: z.number().int().positive().optional(),
        isTest: z.boolean().optional(),
      })
      .optional(),
  })
  .prefault({});

export type DefensesConfig = z.output<typeof defensesSchema>;
