// The `monitor:` section: anomaly detection and the circuit breaker, per form and per instance.
import { z } from 'zod';

const limits = z
  .strictObject({
    /** Submissions per window above which the breaker trips, whatever the baseline. */
    submissions: z.number().int().positive().default(60),
    /** Auto-replies enqueued per window. */
    autoreplies: z.number().int().positive().default(20),
    /** Distinct recipient domains of auto-replies per window. */
    recipientDomains: z.number().int().positive().default(10),
    /** Share of rejected or quarantined submissions (0..1), counted once at least minSample submissions arrived. */
    rejectedShare: z.number().min(0).max(1).default(0.8),
    /** Bounces of our mail per window. */
    bounces: z.number().int().positive().default(10),
  })
  .prefault({});

export const monitorSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Length of one counting window, in seconds. */
    windowSeconds: z.number().int().positive().default(600),
    /** How many past windows form the trailing baseline. */
    baselineWindows: z.number().int().positive().default(24),
    /** Trip when a count exceeds this factor times its baseline (and minSample). */
    factor: z.number().min(1).default(5),
    minSample: z.number().int().positive().default(20),
    /** Per form. */
    form: limits,
    /** The whole instance (every form together). */
    instance: z
      .strictObject({
        submissions: z.number().int().positive().default(300),
        autoreplies: z.number().int().positive().default(60),
        recipientDomains: z.number().int().positive().default(30),
        rejectedShare: z.number().min(0).max(1).default(0.9),
        bounces: z.number().int().positive().default(30),
      })
      .prefault({}),
    /** An open breaker tries again (half-open) after this many seconds. */
    coolDownSeconds: z.number().int().positive().default(3600),
    /** How often the monitor looks, in seconds. */
    intervalSeconds: z.number().int().positive().default(15),
  })
  .prefault({});
