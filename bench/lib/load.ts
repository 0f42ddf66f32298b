// Driving load with autocannon (in this process; the server runs in its own) and measuring the
// server's CPU and memory during the round.
import autocannon from 'autocannon';
import type { ServerProcess } from './server.js';
import { RssSampler } from './proc.js';

export interface LoadSpec {
  /** Label used in logs and per-round tables. */
  label: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** Bodies sent in rotation (each connection cycles through them). */
  bodies?: string[];
  /** The status every response must have (201 for an accepted submission). */
  expectStatus: number;
}

export interface RoundResult {
  label: string;
  seconds: number;
  /** Responses per second with the expected status. */
  okPerSecond: number;
  /** All responses per second, whatever the status. */
  responsesPerSecond: number;
  ok: number;
  /** Responses with another status than the expected one, plus socket errors (timeouts included). */
  unexpected: number;
  statusCounts: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p97_5: number; p99: number; max: number };
  /** Server CPU use during the round, in % of one core. */
  serverCpuPct: number;
  /** Highest RSS seen during the round, and the process's peak so far (VmHWM), in MB. */
  serverRssMb: number;
  serverPeakRssMb: number;
}

export async function runRound(
  server: ServerProcess,
  spec: LoadSpec,
  opts: { connections: number; duration: number },
): Promise<RoundResult> {
  const bodies = spec.bodies && spec.bodies.length > 0 ? spec.bodies : [undefined];
  const requests = bodies.map((body) => ({
    method: spec.method,
    path: spec.path,
    ...(spec.headers ? { headers: spec.headers } : {}),
    ...(body === undefined ? {} : { body }),
  }));
  const sampler = new RssSampler(server.pid).start();
  const cpu0 = server.cpuSeconds();
  const t0 = process.hrtime.bigint();
  const result = await autocannon({
    url: server.url,
    connections: opts.connections,
    duration: opts.duration,
    timeout: 10,
    requests,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = server.cpuSeconds();
  const rss = sampler.stop();
  const statusCounts: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = s.count;
  const ok = statusCounts[String(spec.expectStatus)] ?? 0;
  const responses = Object.values(statusCounts).reduce((a, b) => a + b, 0);
  const measured = result.duration > 0 ? result.duration : seconds;
  return {
    label: spec.label,
    seconds: measured,
    okPerSecond: ok / measured,
    responsesPerSecond: responses / measured,
    ok,
    unexpected: responses - ok + result.errors, // autocannon counts timeouts among errors
    statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: result.latency.p50, p97_5: result.latency.p97_5, p99: result.latency.p99, max: result.latency.max },
    serverCpuPct: ((cpu1 - cpu0) / seconds) * 100,
    serverRssMb: rss,
    serverPeakRssMb: server.memory()?.peakRssMb ?? Number.NaN,
  };
}

export interface Target {
  server: ServerProcess;
  spec: LoadSpec;
  /** Runs between rounds, before the next target is loaded (e.g. wait for the outbox to drain). */
  settle?: () => Promise<void>;
}

export interface RoundsResult {
  /** Measured rounds, per target label, in round order. */
  rounds: Map<string, RoundResult[]>;
  /** The unmeasured warm-up runs, per target label (their responses still count for integrity checks). */
  warmups: Map<string, RoundResult>;
}

/**
 * Warms every target up, then runs `rounds` rounds in which every target is loaded once, back to
 * back, alternating the order from round to round so that drift on a shared machine hits all alike.
 */
export async function interleavedRounds(
  targets: Target[],
  opts: { rounds: number; duration: number; warmup: number; connections: number; log(msg: string): void },
): Promise<RoundsResult> {
  const rounds = new Map<string, RoundResult[]>(targets.map((t) => [t.spec.label, []]));
  const warmups = new Map<string, RoundResult>();
  if (opts.warmup > 0) {
    for (const t of targets) {
      opts.log(`  warm-up ${t.spec.label} (${opts.warmup} s)`);
      warmups.set(t.spec.label, await runRound(t.server, t.spec, { connections: opts.connections, duration: opts.warmup }));
      await t.settle?.();
    }
  }
  for (let r = 0; r < opts.rounds; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const res = await runRound(t.server, t.spec, { connections: opts.connections, duration: opts.duration });
      rounds.get(t.spec.label)!.push(res);
      opts.log(
        `  round ${r + 1}/${opts.rounds} ${t.spec.label}: ${res.okPerSecond.toFixed(0)} ok/s, p50 ${res.latencyMs.p50} ms, p99 ${res.latencyMs.p99} ms, ` +
          `unexpected ${res.unexpected}, server CPU ${res.serverCpuPct.toFixed(0)}%, peak RSS ${res.serverPeakRssMb.toFixed(0)} MB`,
      );
      await t.settle?.();
    }
  }
  return { rounds, warmups };
}
