// Prometheus metrics, one registry per instance (tests run several instances in one process).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly submissions = new Counter({
    name: 'formwarden_submissions_total',
    help: 'Submissions by form and outcome (accept, accept_no_autoreply, quarantine, reject, invalid, blocked, rate_limited)',
    labelNames: ['form', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly mails = new Counter({
    name: 'formwarden_mails_total',
    help: 'Mail state changes by kind (notify, autoreply, alert, digest) and state (queued, sent, retry, dead, cancelled, skipped)',
    labelNames: ['kind', 'state'] as const,
    registers: [this.registry],
  });
  readonly outboxDepth: Gauge<'state'>;

  constructor(depth: () => Promise<Record<string, number>>, withDefaults = true) {
    this.outboxDepth = new Gauge({
      name: 'formwarden_outbox_depth',
      help: 'Mails in the outbox by state',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await depth();
        this.reset();
        for (const state of ['pending', 'sent', 'dead', 'cancelled']) this.set({ state }, counts[state] ?? 0);
      },
    });
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'formwarden_' });
  }
}
