// Composition root: config -> database -> secrets -> intake -> HTTP + outbox worker.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { LoadedConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import type { Redis } from 'ioredis';
import { listRules, toEntries } from './defenses/ip-lists/rules-store.js';
import { buildDefenses, type Defenses } from './defenses/setup.js';
import { buildApp } from './http/app.js';
import { registerConsole, type ConsoleHandle } from './admin/routes.js';
import { registerUnsubscribe } from './http/unsubscribe.js';
import { DbCursorStore, ingestBounce } from './bounces/ingest.js';
import { ImapBounceSource, parseImapUrl, redactImapUrl } from './bounces/imap/index.js';
import { ingestDmarc, looksLikeDmarcMessage } from './dmarc/ingest.js';
import { dmarcAlertHook } from './dmarc/alerts.js';
import { geoSourceLookup } from './dmarc/analyze/geo.js';
import { BounceReceiver } from './bounces/receiver/index.js';
import { Verp } from './bounces/verp.js';
import { createNotifyRate, sendDigests } from './mail/digest.js';
import { siteOf, siteSecretName } from './config/sites.js';
import { DbReplayStore } from './pipeline/index.js';
import { sendAlert } from './monitor/alerts.js';
import { Monitor } from './monitor/breaker.js';
import { CapWatch } from './monitor/cap-watch.js';
import { PruneJob } from './submissions/prune.js';
import { pruneCharges } from './relay/budget.js';
import { autoreplyDecoration, autoreplyPrecheck, onAutoreplyCancelled } from './relay/recheck.js';
import { outboxDepth } from './mail/outbox.js';
import { openSenders, type Sender } from './mail/senders.js';
import { createTransport, type Transport } from './mail/transport.js';
import { OutboxWorker } from './mail/worker.js';
import { resolveWebhooks } from './integrations/config.js';
import { webhookDeliverer } from './integrations/deliver.js';
import { WebhookPlanner } from './integrations/plan.js';
import { Metrics } from './monitor/metrics.js';
import { openAndMigrate, type Db } from './store/db.js';
import { ensureSecret } from './store/secrets.js';
import type { IntakeDeps } from './submissions/accept.js';
import { systemClock, type Clock } from './util/clock.js';
import { mustDuration } from './util/duration.js';

export interface InstanceOptions {
  clock?: Clock;
  /** Replace the configured transport (selftest, tests of the capture path). */
  transport?: Transport;
  /** Start the outbox worker's poll loop (default true). Tests may drive worker.tick() by hand. */
  startWorker?: boolean;
  /** How often the workers look for due mail when nobody wakes them (default 1 s). */
  workerPollMs?: number;
  logger?: boolean | object;
}

export interface Instance {
  config: Config;
  db: Db;
  app: FastifyInstance;
  worker: OutboxWorker;
  /** The same outbox, for webhook rows only (forms[].webhooks): a slow receiver never holds up mail. */
  webhookWorker: OutboxWorker;
  monitor: Monitor;
  metrics: Metrics;
  /** One pass of the background jobs: breaker evaluation (and alerts), digests, pruning. */
  housekeeping(): Promise<void>;
  /** Reads new bounces from the configured mailbox once (bounces.imap); returns how many were read. */
  pollBounces(): Promise<number>;
  /** Reads new DMARC report mails from dmarc.imap once; returns how many were read (0 when unset). */
  pollDmarc(): Promise<number>;
  /** VERP envelope senders (bounces.verp), or null. */
  verp: Verp | null;
  /** Where the bounce receiver (bounces.smtp) listens, or null. */
  bounceReceiver: { host: string; port: number } | null;
  defenses: Defenses;
  redis: Redis | null;
  secrets: { tokenKey: string; linkKey: string; verpKey?: string };
  /** Listens on config.server (port 0 picks a free one); returns the base URL. */
  listen(): Promise<string>;
  /**
   * The first step of a graceful stop (docs/scale.md): /healthz answers 503 with Retry-After so a load
   * balancer takes this process out, while it still serves what arrives; close() follows after the grace.
   */
  startDraining(): void;
  /** True once startDraining() was called. */
  readonly draining: boolean;
  /** Stops accepting, finishes requests in flight, stops the workers and releases their leases, closes the stores. */
  close(): Promise<void>;
  /** Outbox leases given back by the last close() (claimed mails not yet attempted). */
  readonly releasedLeases: number;
}

export class StartupError extends Error {}

export async function createInstance(loaded: LoadedConfig, opts: InstanceOptions = {}): Promise<Instance> {
  const { config } = loaded;
  const clock = opts.clock ?? systemClock;
  // What the configuration must hold before anything opens (check-config runs the same checks).
  const senders = openSenders(config, loaded.baseDir);
  if (!senders.ok) throw new StartupError(senders.problems.join('\n'));
  const { instance: sender, sites: siteSenders } = senders;
  // Webhook URLs and secrets may come from the environment: all of them must be there before anything starts.
  const webhooks = resolveWebhooks(config.forms, process.env);
  if (webhooks.problems.length > 0) throw new StartupError(webhooks.problems.join('\n'));

  const { db, secrets, siteKeys, verp } = await openStorage(loaded);
  const metrics = new Metrics(() => outboxDepth(db.kysely));
  // The logger comes with the app, built further down: the workers, the monitor and the mailbox feeds log
  // through it once it exists.
  let appLog: Pick<FastifyInstance['log'], 'info' | 'warn' | 'error'> | null = null;
  const lateLog = {
    info: (o: object, m: string) => appLog?.info(o, m),
    warn: (o: object, m: string) => appLog?.warn(o, m),
    error: (o: object, m: string) => appLog?.error(o, m),
  };
  const monitor = new Monitor({ db: db.kysely, dialect: db.dialect, config, clock, log: lateLog });
  await monitor.refresh();

  // Mail: the outbox's two workers (mail, and webhooks on their own lane) and the owner's alerts.
  const senderOf = (formId: string | null) => {
    const site = formId ? siteOf(config, formId) : undefined;
    return site ? siteSenders.get(site.id) : undefined;
  };
  const { transport, worker, webhookWorker } = mailWorkers({ config, db, clock, opts, sender, senderOf, verp, linkKey: secrets.linkKey, monitor, metrics, webhooks, log: lateLog });
  const alertDeps = { db: db.kysely, config, clock, fromAddress: sender.fromAddress, onQueued: () => worker.kick(), dialect: db.dialect };
  monitor.setTripHandler(async (trip) => {
    await sendAlert(alertDeps, trip);
  });
  // Slow drip: a cap used up hours running alerts the owner (once per streak).
  const capWatch = new CapWatch({ db: db.kysely, config, clock, alert: (a) => sendAlert(alertDeps, a) });
  const feeds = mailboxFeeds({ config, db, clock, verp, alertDeps, log: lateLog });
  // Retention (retention.*, submissions/prune.ts): deletes and anonymises by age, hourly, in small batches.
  const pruneJob = new PruneJob({ db: db.kysely, config, clock, log: lateLog });

  // Defenses, with their shared stores (Redis when configured, else the database or memory).
  const redis = await connectRedis(config);
  let defenses: Defenses;
  try {
    defenses = buildDefenses(config, secrets.tokenKey, {
      clock,
      redis: redis ?? undefined,
      db: db.kysely,
      dialect: db.dialect,
      siteKeys,
      raised: (formId) => (monitor.raisesDifficulty(formId) ? config.defenses.altcha.raisedFactor : 1),
    });
  } catch (e) {
    redis?.disconnect();
    await db.close();
    throw new StartupError(`defenses: ${(e as Error).message}`);
  }
  // Block/allow entries from the CLI live in the database; reload them when they change.
  let rulesSignature = '';
  const reloadIpRules = async () => {
    await defenses.bans?.refresh();
    const rules = await listRules(db.kysely);
    const signature = JSON.stringify(rules);
    if (signature === rulesSignature) return;
    rulesSignature = signature;
    defenses.reloadIpLists(toEntries(rules));
  };
  await reloadIpRules();
  const housekeeping = async () => {
    await monitor.tick();
    await capWatch.tick();
    if ((await sendDigests(db.kysely, config, clock, sender.fromAddress, db.dialect)) > 0) worker.kick();
    const replay = defenses.context().replay;
    if (replay instanceof DbReplayStore) await replay.prune();
    await pruneCharges(db.kysely, clock.now().getTime() - 8 * 86_400_000);
  };

  // HTTP: the form routes and API, the unsubscribe links, the owner's console.
  // The digest threshold holds for every process together: counted in Redis, or the database on PostgreSQL.
  const notifyRate = createNotifyRate(config.mail.digest.threshold, { redis, prefix: config.redis?.keyPrefix, db: db.kysely, dialect: db.dialect });
  const intake: IntakeDeps = { config, db, clock, fromAddress: sender.fromAddress, senderAddress: (formId) => senderOf(formId)?.fromAddress, defenses, monitor, notifyRate, webhooks: webhooks.targets.size > 0 ? new WebhookPlanner(config) : undefined };
  let consoleHandle: ConsoleHandle | null = null;
  let draining = false;
  let releasedLeases = 0;
  let workersStopped: Promise<number> = Promise.resolve(0);
  const app = await buildApp({
    config,
    intake,
    metrics,
    logger: opts.logger ?? false,
    draining: () => draining,
    // A worker is woken only when there is something for it: under a flood most posts queue nothing (digest,
    // caps), and a pass that finds nothing due still costs its query.
    onAccepted: ({ mails, webhooks }) => {
      if (mails > 0) worker.kick();
      if (webhooks > 0) webhookWorker.kick();
      consoleHandle?.dataChanged();
    },
    healthCheck: async () => {
      await db.kysely.selectFrom('secrets').select('name').limit(1).execute();
      return true;
    },
  });
  appLog = app.log;
  registerUnsubscribe(app, { db: db.kysely, linkKey: secrets.linkKey, clock });
  // The owner's console (docs/admin.md): open to accounts made with `formwarden users add`.
  consoleHandle = await registerConsole(app, { config, db, clock, redis: redis ?? undefined, overHttps: app.overHttps, fromAddress: sender.fromAddress, monitor, senderAddress: intake.senderAddress, webhooks: intake.webhooks });

  // Bounces delivered over SMTP to a VERP address name their outbox row.
  const receiver = bounceReceiverFor(loaded, { db, clock, verp, log: app.log });
  let bounceReceiver: { host: string; port: number } | null = null;
  if (receiver) {
    try {
      bounceReceiver = await receiver.start();
    } catch (e) {
      await app.close();
      transport.close();
      redis?.disconnect();
      await db.close();
      throw new StartupError(`bounces.smtp: cannot listen on ${config.bounces.smtp?.host}:${config.bounces.smtp?.port}: ${(e as Error).message}`);
    }
  }

  let housekeepingTimer: NodeJS.Timeout | null = null;
  let rulesTimer: NodeJS.Timeout | null = null;
  if (opts.startWorker !== false) {
    worker.start();
    webhookWorker.start();
    housekeepingTimer = setInterval(() => {
      housekeeping().catch((e) => app.log.error({ err: String(e) }, 'housekeeping failed'));
    }, config.monitor.intervalSeconds * 1000);
    housekeepingTimer.unref();
    rulesTimer = setInterval(() => {
      reloadIpRules().catch((e) => app.log.error({ err: String(e) }, 'reloading block list failed'));
    }, 2000);
    rulesTimer.unref();
    pruneJob.start();
    feeds.start();
  }

  return {
    config,
    db,
    app,
    worker,
    webhookWorker,
    monitor,
    housekeeping,
    pollBounces: feeds.pollBounces,
    pollDmarc: feeds.pollDmarc,
    verp,
    bounceReceiver,
    metrics,
    defenses,
    redis,
    secrets,
    async listen() {
      return app.listen({ host: config.server.host, port: config.server.port });
    },
    startDraining() {
      if (draining) return;
      draining = true;
      // The workers take no new mail from now on: other processes send it (and, alone, this one after its restart).
      workersStopped = Promise.all([worker.stop(), webhookWorker.stop()]).then(([a, b]) => a + b);
    },
    get draining() {
      return draining;
    },
    get releasedLeases() {
      return releasedLeases;
    },
    async close() {
      if (housekeepingTimer) clearInterval(housekeepingTimer);
      if (rulesTimer) clearInterval(rulesTimer);
      await pruneJob.stop();
      await feeds.stop();
      await receiver?.close();
      // No new connections; the requests in flight finish (each stored with its mails before its 201).
      await app.close();
      releasedLeases = (await workersStopped) + (await worker.stop()) + (await webhookWorker.stop());
      transport.close();
      redis?.disconnect();
      await db.close();
    },
  };
}

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };

/** Storage: the database (migrated), the instance's secrets, each site's token key, VERP when configured. */
async function openStorage(loaded: LoadedConfig) {
  const { config } = loaded;
  const db = await openAndMigrate(config.database.url, loaded.baseDir);
  const secrets = {
    tokenKey: await ensureSecret(db, 'tokenKey', config.secrets.tokenKey),
    linkKey: await ensureSecret(db, 'linkKey', config.secrets.linkKey),
    ...(config.bounces.verp ? { verpKey: await ensureSecret(db, 'verpKey') } : {}),
  };
  const verp = config.bounces.verp && secrets.verpKey ? new Verp({ ...config.bounces.verp, key: secrets.verpKey }) : null;
  // Sites (config sites:): each signs its forms' tokens with its own key; unset, one is generated and stored.
  const siteKeys = new Map<string, string>();
  for (const site of config.sites) siteKeys.set(site.id, await ensureSecret(db, siteSecretName(site.id), site.secrets.tokenKey));
  return { db, secrets, siteKeys, verp };
}

/** The outbox's workers: one for mail (SMTP, DKIM, VERP, the auto-reply checks), one for webhooks. */
function mailWorkers(o: {
  config: Config;
  db: Db;
  clock: Clock;
  opts: InstanceOptions;
  sender: Sender;
  senderOf: (formId: string | null) => Sender | undefined;
  verp: Verp | null;
  linkKey: string;
  monitor: Monitor;
  metrics: Metrics;
  webhooks: ReturnType<typeof resolveWebhooks>;
  log: Log;
}) {
  const { config, db, clock, sender, verp, metrics } = o;
  const t = config.mail.timeouts;
  const timeouts = { connect: mustDuration(t.connect), greeting: mustDuration(t.greeting), socket: mustDuration(t.socket) };
  const transport = o.opts.transport ?? createTransport(config.mail.transport, timeouts, config.mail.pool.maxConnections);
  // A claimed mail is retried by another worker (or after a crash) once its lease ends; the lease
  // outlasts the slowest possible SMTP attempt so a live worker never loses its claim.
  const leaseMs = 2 * (timeouts.connect + timeouts.greeting + timeouts.socket);
  const worker = new OutboxWorker(db.kysely, transport, clock, {
    fromHeader: config.mail.from,
    envelopeFrom: (row) => verp?.address(row.id) ?? sender.fromAddress,
    retryScheduleMs: config.mail.retry.map(mustDuration),
    concurrency: config.mail.pool.maxConnections,
    leaseMs,
    onResult: (row, state) => metrics.mails.inc({ kind: row.kind, state }),
    precheck: autoreplyPrecheck(db.kysely, o.monitor, clock),
    onCancelled: onAutoreplyCancelled(db.kysely),
    decorate: autoreplyDecoration(config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`, o.linkKey),
    sign: sender.sign,
    senderFor: (row) => {
      const s = o.senderOf(row.form_id);
      return s && { fromHeader: s.fromHeader, envelopeFrom: verp?.address(row.id) ?? s.envelope ?? s.fromAddress, sign: s.sign };
    },
    log: o.log,
    webhookLane: false,
    pollMs: o.opts.workerPollMs,
  });
  // Each attempt ends within its target's timeout; the lease outlasts the slowest one.
  const webhookLeaseMs = 2 * Math.max(0, ...[...o.webhooks.targets.values()].map((w) => w.timeoutMs)) + 30_000;
  const webhookWorker = new OutboxWorker(db.kysely, transport, clock, {
    fromHeader: config.mail.from,
    envelopeFrom: () => sender.fromAddress,
    retryScheduleMs: config.mail.retry.map(mustDuration),
    concurrency: 4,
    leaseMs: webhookLeaseMs,
    onResult: (row, state) => metrics.mails.inc({ kind: row.kind, state }),
    webhooks: webhookDeliverer(o.webhooks.targets),
    webhookLane: true,
    pollMs: o.opts.workerPollMs,
  });
  return { transport, worker, webhookWorker };
}

/**
 * The mailboxes read on a schedule: bounces (bounces.imap) and DMARC aggregate reports (docs/dmarc.md): from
 * dmarc.imap, or, unset, the report mails in the bounce mailbox.
 */
function mailboxFeeds(o: { config: Config; db: Db; clock: Clock; verp: Verp | null; alertDeps: Parameters<typeof dmarcAlertHook>[0]; log: Log }) {
  const { config, db, clock, log } = o;
  const imap = config.bounces.imap;
  const dmarcImap = config.dmarc.imap;
  const source = (url: string, cursor: string) => new ImapBounceSource({ ...parseImapUrl(url), store: new DbCursorStore(db.kysely, `${cursor}:${redactImapUrl(url)}`), attempts: 2 });
  const bounceSource = imap ? source(imap.url, 'imap') : null;
  const dmarcSource = dmarcImap ? source(dmarcImap.url, 'dmarc-imap') : null;
  const onDmarc = async (m: { raw: Buffer; uid?: number; mailbox?: string }) => {
    const c = await ingestDmarc(db.kysely, [{ file: `imap:${m.mailbox ?? ''}`, index: m.uid ?? 0, raw: m.raw }], {
      onError: (f) => log.warn({ uid: m.uid, attachment: f.attachment, code: f.code, why: f.message }, 'DMARC report refused'),
      // docs/dmarc.md, "Alerts": an unknown source sending failing mail as the domain, an authorised volume jump
      onStored: dmarcAlertHook({ ...o.alertDeps, log, lookup: geoSourceLookup(config.defenses.geo) }),
    });
    if (c.stored) log.info({ uid: m.uid, stored: c.stored, duplicates: c.duplicates }, 'DMARC report stored');
  };
  const onBounce = async (m: { raw: Buffer; uid?: number; mailbox?: string }) => {
    if (!dmarcImap && looksLikeDmarcMessage(m.raw)) return onDmarc(m);
    await ingestBounce(db.kysely, clock, m.raw, config.bounces.softLimit, { verp: o.verp });
  };
  return {
    pollBounces: async () => (bounceSource ? (await bounceSource.pollOnce(onBounce)).count : 0),
    pollDmarc: async () => (dmarcSource ? (await dmarcSource.pollOnce(onDmarc)).count : 0),
    start() {
      if (bounceSource && imap) bounceSource.start(mustDuration(imap.every), onBounce, (e) => log.warn({ err: String(e), mailbox: redactImapUrl(imap.url) }, 'reading bounces failed; retrying'));
      if (dmarcSource && dmarcImap) dmarcSource.start(mustDuration(dmarcImap.every), onDmarc, (e) => log.warn({ err: String(e), mailbox: redactImapUrl(dmarcImap.url) }, 'reading DMARC reports failed; retrying'));
    },
    async stop() {
      await bounceSource?.stop();
      await dmarcSource?.stop();
    },
  };
}

/**
 * One Redis connection for every shared counter (rate limits, replay, bans, duplicates), when configured
 * (ioredis is loaded only then). It is given a moment to connect so the first requests find it; if it stays
 * down, every check that needs it follows its own error policy (fail-closed for auto-replies, open for the inquiry).
 */
async function connectRedis(config: Config): Promise<Redis | null> {
  if (!config.redis) return null;
  const redis = new (await import('ioredis')).Redis(config.redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, lazyConnect: false });
  redis.on('error', () => {});
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, 3000);
      redis.once('ready', done);
    });
  }
  return redis;
}

/** The SMTP bounce receiver (bounces.smtp, with VERP): bounces sent to a VERP address name their outbox row. */
function bounceReceiverFor(loaded: LoadedConfig, o: { db: Db; clock: Clock; verp: Verp | null; log: FastifyInstance['log'] }): BounceReceiver | null {
  const { config } = loaded;
  const smtp = config.bounces.smtp;
  if (!smtp || !o.verp) return null;
  return new BounceReceiver({
    host: smtp.host,
    port: smtp.port,
    maxBytes: smtp.maxBytes,
    perClientPerMinute: smtp.perClientPerMinute,
    ...(smtp.tls ? { tls: { key: path.resolve(loaded.baseDir, smtp.tls.key), cert: path.resolve(loaded.baseDir, smtp.tls.cert) } } : {}),
    verp: o.verp,
    log: o.log,
    onMessage: async (m) => {
      const r = await ingestBounce(o.db.kysely, o.clock, m.raw, config.bounces.softLimit, { outboxId: m.outboxId });
      return { counted: r.counted, ignored: r.ignored.map((i) => i.why) };
    },
  });
}
