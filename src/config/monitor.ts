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
    /**
     * Share of refused (rejected or quarantined) posts (0..1), counted once at least minSample posts arrived.
     * Refused posts send no mail: this raises the proof-of-work difficulty and tells the owner ("attack
     * observed"), it does not stop auto-replies.
     */
    rejectedShare: z.number().min(0).max(1).default(0.8),
    /** Bounce signals (bounces, complaints, "I didn't request this") per window above which the breaker may trip. */
    bounces: z.number().int().positive().default(10),
    /** ...and only when they name at least this many distinct recipient domains... */
    bounceDomains: z.number().int().positive().default(3),
    /** ...and make at least this share (0..1) of the auto-replies sent since the oldest bounced one. */
    bounceShare: z.number().min(0).max(1).default(0.25),
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
        bounceDomains: z.number().int().positive().default(3),
        bounceShare: z.number().min(0).max(1).default(0.25),
      })
      .prefault({}),
    /** An open breaker tries again (half-open) after this many seconds. */
    coolDownSeconds: z.number().int().positive().default(3600),
    /** How often the monitor looks, in seconds. */
    intervalSeconds: z.number().int().positive().default(15),
    /**
     * Slow drip: a form (or the instance) whose auto-reply cap (hourly or daily) is used up in this many
     * clock hours running alerts the owner, once per streak. 0 turns it off.
     */
    capAlertHours: z.number().int().nonnegative().default(2),
  })
  .prefault({});
