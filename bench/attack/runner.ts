// Runs a scenario mix against a running instance: every scenario in parallel, each with its count,
// rate and concurrency; samples the server's memory and CPU; then waits for the outbox to drain and
// collects what reached the SMTP sink.
import type { ReceivedMail, SmtpSink } from '../../test/support/smtp-sink.js';
import { readCpuSeconds, readMemory, RssSampler } from '../lib/proc.js';
import { HttpClient } from './http.js';
import { PowPool } from './pow.js';
import { botAddress, runAttempt, visitorAddress, type Attempt, type Kind, type ScenarioContext, type ScenarioSpec } from './scenarios.js';

export interface StoredOutcome {
  outcome: string;
  autoreply: string;
}

export interface RunOptions {
  url: string;
  formId?: string;
  seed?: number;
  scenarios: ScenarioSpec[];
  /** Stop starting attempts after this many seconds (scenarios with count Infinity need it). */
  durationSeconds?: number;
  /** Size of the bot address pool (at most 253 with networks 'one'). */
  botAddresses?: number;
  botNetworks?: 'one' | 'many';
  /** Distributed and victim-list solvers post at most this many times per address (default 4: under the default 5 per 10 min). */
  perAddressMax?: number;
  oversizeKb?: number;
  slow?: { bytes: number; everyMs: number; maxSeconds: number };
  thinkMs?: number;
  timeoutMs?: number;
  /** Worker threads solving the proof-of-work (default 2; 0: on the main thread). */
  powWorkers?: number;
  sink: SmtpSink;
  /** Recipients that are the owner (notify.to, alerts.to); every other recipient is a third party. */
  owners: string[];
  /** Most mails third parties may get during the run (from the caps), if known. */
  budget?: number | null;
  serverPid?: number;
  /** Reads the stored verdicts by submission id (needs the instance's configuration). */
  storedOutcomes?: () => Promise<Map<string, StoredOutcome>>;
  /** Waits until the instance has sent what is due; without it the sink must be quiet for drainQuietMs. */
  drain?: () => Promise<void>;
  drainQuietMs?: number;
  drainTimeoutMs?: number;
  log?: (m: string) => void;
}

export interface RunResult {
  url: string;
  seed: number;
  scenarios: ScenarioSpec[];
  attempts: Attempt[];
  seconds: number;
  mails: ReceivedMail[];
  owners: string[];
  budget: number | null;
  stored: Map<string, StoredOutcome> | null;
  server: { peakRssMb: number; maxSampledRssMb: number; cpuSeconds: number; cpuPct: number } | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Spreads scenarios over disjoint slices of the bot pool (wrapping when they ask for more). */
function addressPlan(opts: RunOptions): Map<ScenarioSpec, (i: number) => string> {
  const pool = Math.max(1, Math.min(opts.botAddresses ?? 250, (opts.botNetworks ?? 'one') === 'one' ? 253 : 25_000));
  const plan = new Map<ScenarioSpec, (i: number) => string>();
  let offset = 0;
  let visitors = 0;
  for (const s of opts.scenarios) {
    if (s.kind === 'genuine') {
      const first = visitors;
      visitors += Number.isFinite(s.count) ? s.count : 100_000;
      plan.set(s, (i) => visitorAddress(first + i));
      continue;
    }
    const n = s.kind === 'solver' ? 1 : Math.max(1, Math.min(s.addresses, pool));
    const first = offset;
    offset += n;
    plan.set(s, (i) => botAddress((first + (i % n)) % pool, opts.botNetworks ?? 'one'));
  }
  return plan;
}

const capped = (k: Kind) => k === 'distributed' || k === 'victims';

export async function runAttack(opts: RunOptions): Promise<RunResult> {
  if (!opts.durationSeconds && opts.scenarios.some((s) => !Number.isFinite(s.count))) throw new Error('a scenario without a count needs durationSeconds');
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? 1;
  const client = new HttpClient(opts.url, opts.timeoutMs ?? 30_000);
  const ctx: ScenarioContext = {
    client,
    formId: opts.formId ?? 'contact',
    seed,
    perAddressMax: opts.perAddressMax ?? 4,
    oversizeKb: opts.oversizeKb ?? 256,
    slow: opts.slow ?? { bytes: 2000, everyMs: 250, maxSeconds: 10 },
    thinkMs: opts.thinkMs ?? 1500,
    replayForms: new Map(),
  };
  const pool = (opts.powWorkers ?? 2) > 0 ? new PowPool(opts.powWorkers ?? 2) : null;
  if (pool) ctx.solver = pool.solve;
  const mailsBefore = opts.sink.received.length;
  const plan = addressPlan(opts);
  const attempts: Attempt[] = [];
  const sampler = opts.serverPid ? new RssSampler(opts.serverPid, 250).start() : null;
  const cpu0 = opts.serverPid ? readCpuSeconds(opts.serverPid) : Number.NaN;
  const t0 = performance.now();
  const deadline = opts.durationSeconds ? t0 + opts.durationSeconds * 1000 : Infinity;
  const progress = setInterval(() => {
    const m = opts.serverPid ? readMemory(opts.serverPid) : null;
    log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${attempts.length} attempts done${m ? `; server RSS ${m.rssMb.toFixed(0)} MB (peak ${m.peakRssMb.toFixed(0)} MB)` : ''}`);
  }, 10_000);
  progress.unref();

  const drive = async (spec: ScenarioSpec) => {
    const addressOf = plan.get(spec)!;
    const addrCount = spec.kind === 'solver' ? 1 : Math.max(1, Math.min(spec.addresses, opts.botAddresses ?? 250));
    const count = capped(spec.kind) ? Math.min(spec.count, addrCount * ctx.perAddressMax) : spec.count;
    const inflight = new Set<Promise<void>>();
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      if (spec.rate > 0) {
        const due = start + (i * 1000) / spec.rate;
        if (due >= deadline) break;
        if (due > performance.now()) await sleep(due - performance.now());
      }
      while (inflight.size >= spec.concurrency) await Promise.race(inflight);
      if (performance.now() >= deadline) break;
      const p: Promise<void> = runAttempt(ctx, spec.kind, i, addressOf(i)).then((a) => {
        attempts.push(a);
        inflight.delete(p);
      });
      inflight.add(p);
    }
    await Promise.all(inflight);
  };

  try {
    await Promise.all(opts.scenarios.map(drive));
  } finally {
    clearInterval(progress);
    client.close();
    await pool?.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = opts.serverPid ? readCpuSeconds(opts.serverPid) : Number.NaN;
  const maxSampled = sampler?.stop() ?? Number.NaN;
  log(`  ${attempts.length} attempts in ${seconds.toFixed(1)} s; waiting for the outbox to drain`);

  // What is due leaves the outbox; then the sink must be quiet for a moment.
  const drainDeadline = Date.now() + (opts.drainTimeoutMs ?? 60_000);
  if (opts.drain) await opts.drain();
  let last = -1;
  let quietSince = Date.now();
  while (Date.now() < drainDeadline) {
    if (opts.sink.received.length !== last) {
      last = opts.sink.received.length;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= (opts.drainQuietMs ?? 2000)) break;
    await sleep(100);
  }
  const mem = opts.serverPid ? readMemory(opts.serverPid) : null;
  const stored = opts.storedOutcomes ? await opts.storedOutcomes() : null;
  return {
    url: opts.url,
    seed,
    scenarios: opts.scenarios,
    attempts,
    seconds,
    mails: opts.sink.received.slice(mailsBefore),
    owners: opts.owners.map((o) => o.toLowerCase()),
    budget: opts.budget ?? null,
    stored,
    server: opts.serverPid
      ? { peakRssMb: mem?.peakRssMb ?? Number.NaN, maxSampledRssMb: maxSampled, cpuSeconds: cpu1 - cpu0, cpuPct: ((cpu1 - cpu0) / seconds) * 100 }
      : null,
  };
}
