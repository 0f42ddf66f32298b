// The outbox worker: claims due mails with a lease (so several processes can share one database),
// sends them, and records the outcome. A 5xx answer is final (dead); anything else is retried on the
// configured schedule, then dead. Delivery is at least once: a process killed between the SMTP answer
// and the state update sends that one mail again after its lease expires.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, OutboxTable } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { buildMessage } from './message.js';
import { attachmentsForMail } from '../attachments/store.js';
import type { SendResult, Transport } from './transport.js';

/** A step back of the clock larger than this reschedules pending mail (smaller ones are noise). */
export const CLOCK_BACK_MS = 60_000;

export interface WorkerOptions {
  fromHeader: string;
  envelopeFrom: (row: OutboxTable) => string;
  retryScheduleMs: number[];
  leaseMs?: number;
  batchSize?: number;
  pollMs?: number;
  concurrency?: number;
  onResult?: (row: OutboxTable, state: 'sent' | 'retry' | 'dead' | 'cancelled') => void;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** A last look before sending (breaker, suppression, bursts). Return a reason to cancel. */
  precheck?: (row: OutboxTable) => Promise<string | null>;
  /** After a mail is cancelled by the precheck (refund its caps, record why). */
  onCancelled?: (row: OutboxTable, reason: string) => Promise<void>;
  /** Headers and a footer Formwarden adds at send time (List-Unsubscribe, the "I didn't request this" link). */
  decorate?: (row: OutboxTable) => { headers?: Record<string, string>; footer?: string };
  /** Signs the built message (mail.dkim); the signed message is what is sent and stored. */
  sign?: (raw: Buffer) => Promise<Buffer>;
  /** A row's own sender (a form of a site with sites[].mail): From header, envelope sender and signer instead of the above. */
  senderFor?: (row: OutboxTable) => { fromHeader: string; envelopeFrom: string; sign?: (raw: Buffer) => Promise<Buffer> } | undefined;
  /**
   * Webhook rows (src/integrations) are POSTed by this instead of built and sent as mail; precheck,
   * decorate and sign do not apply to them. Without it the worker leaves them alone.
   */
  webhooks?: { deliver(row: OutboxTable, nowMs: number): Promise<SendResult> };
  /** Claim only webhook rows (true), or only mail (false), so a slow receiver never holds up mail; both when unset. */
  webhookLane?: boolean;
}

export class OutboxWorker {
  readonly id = `w_${randomBytes(6).toString('hex')}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  /** stop() was called: a pass under way ends after the attempts already begun. */
  private halting = false;
  /** The latest time seen by tick(), to notice the clock going back. */
  private lastNow = 0;
  /** Passes over the outbox (tick() calls), each one query at least. */
  readonly stats = { passes: 0 };

  constructor(
    private readonly db: Kysely<Database>,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly opts: WorkerOptions,
  ) {}

  /** Processes what is due now, until nothing is left; returns how many mails were handled. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.tick();
      total += n;
      if (n === 0 || this.halting) return total;
    }
  }

  /** One batch: claim up to batchSize due mails and attempt them. */
  async tick(): Promise<number> {
    this.stats.passes++;
    const now = this.clock.now().getTime();
    if (this.lastNow - now > CLOCK_BACK_MS) await this.clockWentBack(this.lastNow - now, now);
    this.lastNow = now;
    const due = await this.db
      .selectFrom('outbox')
      .selectAll()
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .$if(this.onlyWebhooks, (q) => q.where('kind', '=', 'webhook'))
      .$if(this.noWebhooks, (q) => q.where('kind', '<>', 'webhook'))
      .orderBy('next_attempt_at')
      .limit(this.opts.batchSize ?? 20)
      .execute();
    const claimed: OutboxTable[] = [];
    for (const row of due) if (await this.claim(row, now)) claimed.push(row);
    const concurrency = Math.max(1, this.opts.concurrency ?? 2);
    for (let i = 0; i < claimed.length; i += concurrency) {
      // Stopping (a drain): what is claimed but not begun is released by stop(), not attempted.
      if (this.halting) break;
      await Promise.all(claimed.slice(i, i + concurrency).map((row) => this.attempt(row)));
    }
    return claimed.length;
  }

  /**
   * The clock went back (an NTP step, a restored VM): retries, delays and leases set against the later
   * time would wait that much longer, so they are moved back by as much. Sending early is harmless; a
   * claim is still atomic, so nothing is sent twice by this.
   */
  private async clockWentBack(by: number, now: number): Promise<void> {
    this.opts.log?.warn({ byMs: by }, 'outbox: the clock went back; rescheduling pending mail');
    await this.db
      .updateTable('outbox')
      .set((eb) => ({ next_attempt_at: eb('next_attempt_at', '-', by) }))
      .where('state', '=', 'pending')
      .where('next_attempt_at', '>', now)
      .$if(this.onlyWebhooks, (q) => q.where('kind', '=', 'webhook'))
      .$if(this.noWebhooks, (q) => q.where('kind', '<>', 'webhook'))
      .execute();
    await this.db
      .updateTable('outbox')
      .set((eb) => ({ locked_until: eb('locked_until', '-', by) }))
      .where('state', '=', 'pending')
      .where('locked_until', '>', now)
      .$if(this.onlyWebhooks, (q) => q.where('kind', '=', 'webhook'))
      .$if(this.noWebhooks, (q) => q.where('kind', '<>', 'webhook'))
      .execute();
  }

  private async claim(row: OutboxTable, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('outbox')
      .set({ locked_until: now + (this.opts.leaseMs ?? 5 * 60_000), locked_by: this.id })
      .where('id', '=', row.id)
      .where('state', '=', 'pending')
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** This worker takes webhook rows only (webhookLane: true). */
  private get onlyWebhooks(): boolean {
    return this.opts.webhookLane === true;
  }

  /** This worker leaves webhook rows alone (webhookLane: false, or nothing to deliver them with). */
  private get noWebhooks(): boolean {
    return this.opts.webhookLane === false || (this.opts.webhookLane === undefined && !this.opts.webhooks);
  }

  /** A webhook row: its stored body is POSTed as it is; no precheck (it notifies the owner: fail open). */
  private async attemptWebhook(row: OutboxTable): Promise<void> {
    try {
      if (!this.opts.webhooks) throw new Error('no webhook deliverer');
      const result = await this.opts.webhooks.deliver(row, this.clock.now().getTime());
      const now = this.clock.now().getTime();
      if (result.ok) {
        await this.finish(row, { state: 'sent', sent_at: now, raw: row.body, transport: 'webhook', attempts: row.attempts + 1, last_error: null });
        this.opts.onResult?.(row, 'sent');
        return;
      }
      await this.failed(row, result.error, result.permanent, now);
    } catch (e) {
      this.opts.log?.error({ mail: row.id, err: String(e) }, 'outbox: webhook attempt failed');
      await this.failed(row, `E_WEBHOOK: ${String((e as Error).message ?? e)}`, true, this.clock.now().getTime());
    }
  }

  private async attempt(row: OutboxTable): Promise<void> {
    if (row.kind === 'webhook') return this.attemptWebhook(row);
    try {
      const cancel = this.opts.precheck ? await this.opts.precheck(row) : null;
      if (cancel) {
        await this.finish(row, { state: 'cancelled', last_error: cancel });
        await this.opts.onCancelled?.(row, cancel);
        this.opts.onResult?.(row, 'cancelled');
        return;
      }
      const extra = this.opts.decorate?.(row) ?? {};
      const sender = this.opts.senderFor?.(row);
      const built = await buildMessage({
        id: row.id,
        kind: row.kind,
        from: sender?.fromHeader ?? this.opts.fromHeader,
        to: row.to_addr,
        replyTo: row.reply_to,
        subject: row.subject,
        body: extra.footer ? `${row.body}\n\n${extra.footer}` : row.body,
        messageId: row.message_id,
        date: new Date(row.created_at),
        headers: extra.headers,
        // The visitor's files ride on the owner's notification only (docs/attachments.md); never on any other kind.
        attachments: row.kind === 'notify' && row.submission_id ? await attachmentsForMail(this.db, row.submission_id) : undefined,
      });
      const sign = sender ? sender.sign : this.opts.sign;
      const raw = sign ? await sign(built) : built;
      const result = await this.transport.send({ from: sender?.envelopeFrom ?? this.opts.envelopeFrom(row), to: row.to_addr }, raw);
      const now = this.clock.now().getTime();
      if (result.ok) {
        await this.finish(row, { state: 'sent', sent_at: now, raw: raw.toString('utf8'), transport: this.transport.name, attempts: row.attempts + 1, last_error: null });
        this.opts.onResult?.(row, 'sent');
        return;
      }
      await this.failed(row, result.error, result.permanent, now);
    } catch (e) {
      // A message that cannot even be built will not get better by waiting.
      this.opts.log?.error({ mail: row.id, err: String(e) }, 'outbox: cannot build message');
      await this.failed(row, `E_BUILD: ${String((e as Error).message ?? e)}`, true, this.clock.now().getTime());
    }
  }

  private async failed(row: OutboxTable, error: string, permanent: boolean, now: number): Promise<void> {
    const attempts = row.attempts + 1;
    const delay = this.opts.retryScheduleMs[attempts - 1];
    if (permanent || delay === undefined) {
      await this.finish(row, { state: 'dead', attempts, last_error: error });
      this.opts.log?.warn({ mail: row.id, kind: row.kind, attempts, error }, 'outbox: mail is dead');
      this.opts.onResult?.(row, 'dead');
    } else {
      await this.finish(row, { state: 'pending', attempts, last_error: error, next_attempt_at: now + delay });
      this.opts.log?.warn({ mail: row.id, kind: row.kind, attempts, error, retryInSeconds: Math.round(delay / 1000) }, 'outbox: send failed; will retry');
      this.opts.onResult?.(row, 'retry');
    }
  }

  private async finish(row: OutboxTable, set: Partial<OutboxTable>): Promise<void> {
    await this.db
      .updateTable('outbox')
      .set({ ...set, locked_until: null, locked_by: null })
      .where('id', '=', row.id)
      .where('locked_by', '=', this.id)
      .execute();
  }

  /** Polls every pollMs, and at once after kick(). */
  start(): void {
    this.stopped = false;
    this.halting = false;
    this.schedule(0);
  }

  /** A pass of the poll loop is under way. */
  get passing(): boolean {
    return this.running !== null;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.loop(), ms);
    this.timer.unref();
  }

  private loop(): void {
    if (this.stopped || this.running) return;
    this.timer = null;
    this.running = this.drain()
      .then(() => undefined)
      .catch((e) => this.opts.log?.error({ err: String(e) }, 'outbox: worker pass failed; retrying'))
      .finally(() => {
        this.running = null;
        if (this.stopped) return;
        const next = this.again ? 0 : (this.opts.pollMs ?? 1000);
        this.again = false;
        this.schedule(next);
      });
  }

  /**
   * Stops taking mail: the attempts under way finish (their SMTP answer is recorded), mails claimed but
   * not begun are not attempted, and every lease this worker still holds is released at once, so another
   * process sends those mails now rather than after the lease runs out. Returns how many were released.
   */
  async stop(): Promise<number> {
    const wasRunning = !this.stopped;
    this.stopped = true;
    this.halting = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    if (!wasRunning) return 0;
    // The database gone (a fault): the leases then simply run out, as after a crash.
    return this.releaseLeases().catch((e) => {
      this.opts.log?.warn({ err: String(e) }, 'outbox: could not release leases; they expire on their own');
      return 0;
    });
  }

  /** Gives back the pending mails this worker has claimed (nothing is in flight when it is called). */
  async releaseLeases(): Promise<number> {
    const r = await this.db
      .updateTable('outbox')
      .set({ locked_until: null, locked_by: null })
      .where('locked_by', '=', this.id)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
