// Parsing off the event loop: a small pool of worker threads (one by default) that run parseBounce. Each
// message has a time budget; a worker that exceeds it is terminated and replaced, and the message is reported
// unparseable (overBudget 'time'), so it counts nothing. The bytes/lines/parts/depth budget is enforced by the
// parser itself. The SMTP receiver, the IMAP poller and ingest parse through here; the CLI parses in-process.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { overBudget } from './index.js';
import type { ParsedBounce, ParseOptions } from './types.js';
import type { WorkerJob, WorkerReply } from './worker.js';

export interface ParsePoolOptions {
  /** worker threads (default 1) */
  size?: number;
  /** ms one message may take in a worker (default 5000); then the worker is replaced and the message is unparseable */
  timeMs?: number;
  /** messages waiting for a worker at most (default 64); beyond, parse() rejects with ParsePoolFull */
  maxQueue?: number;
  /** heap limit of a worker in MB (default 256): a message that needs more kills only that worker */
  maxMemoryMb?: number;
  /** budget options passed to every parse (defaults: parse/bound.ts DEFAULT_BUDGET) */
  parse?: ParseOptions;
}

/** Too many messages are waiting: the caller should ask the sender to try again later. */
export class ParsePoolFull extends Error {
  constructor(max: number) {
    super(`bounce parser busy: ${max} messages already waiting`);
    this.name = 'ParsePoolFull';
  }
}

interface Job { id: number; raw: Uint8Array; opts: ParseOptions; timeMs: number; resolve: (r: ParsedBounce) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; ready: boolean; job: Job | null; timer: NodeJS.Timeout | null }

/** How to start a worker: the built worker.js next to this file, or (sources under vitest/tsx) worker.ts through tsx. */
function workerFactory(): (limits: { maxOldGenerationSizeMb: number }) => Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    const url = new URL('./worker.js', here);
    // No inherited node flags: the parser needs none, and some (--input-type, --eval) stop a worker from starting.
    return (resourceLimits) => new Worker(url, { resourceLimits, execArgv: [] });
  }
  // `--import tsx` does not reach worker threads (Node 20): the worker registers tsx's loader itself.
  const url = new URL('./worker.ts', here);
  const cjs = createRequire(here).resolve('tsx/esm/api');
  const api = pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return (resourceLimits) => new Worker(code, { eval: true, resourceLimits });
}

export class ParsePool {
  readonly stats = { parsed: 0, timedOut: 0, crashed: 0, started: 0 };
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  readonly size: number;
  private readonly timeMs: number;
  private readonly maxQueue: number;
  private readonly memoryMb: number;
  private readonly parseOpts: ParseOptions;
  private factory: ReturnType<typeof workerFactory> | null = null;
  private nextId = 1;
  private closed = false;
  /** workers that died before they were ready, in a row: a worker that cannot start at all must not spin */
  private failedStarts = 0;

  constructor(opts: ParsePoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? 1);
    this.timeMs = opts.timeMs ?? 5000;
    this.maxQueue = opts.maxQueue ?? 64;
    this.memoryMb = opts.maxMemoryMb ?? 256;
    this.parseOpts = opts.parse ?? {};
  }

  /** Messages waiting or being parsed. */
  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s.job).length;
  }

  /**
   * Parse one message in a worker, within the time budget (the pool's, or `timeMs`). Never rejects for the
   * message's sake (a bad message is unparseable); only when the pool is full or closed.
   */
  parse(raw: Buffer | Uint8Array, opts: ParseOptions = {}, timeMs = this.timeMs): Promise<ParsedBounce> {
    if (this.closed) return Promise.reject(new Error('bounce parser pool closed'));
    if (this.queue.length >= this.maxQueue) return Promise.reject(new ParsePoolFull(this.maxQueue));
    // A copy of its own, transferred to the worker (the caller's buffer may be a slice of a shared pool).
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    return new Promise<ParsedBounce>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, raw: copy, opts: { ...this.parseOpts, ...opts }, timeMs, resolve, reject });
      while (this.slots.length < this.size) this.slots.push(this.spawn());
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new Error('bounce parser pool closed'));
    await Promise.all(
      this.slots.splice(0).map((s) => {
        if (s.timer) clearTimeout(s.timer);
        s.job?.reject(new Error('bounce parser pool closed'));
        s.worker.removeAllListeners();
        return s.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    this.factory ??= workerFactory();
    const worker = this.factory({ maxOldGenerationSizeMb: this.memoryMb });
    this.stats.started++;
    const slot: Slot = { worker, ready: false, job: null, timer: null };
    worker.unref();
    worker.on('message', (m: WorkerReply) => {
      if ('ready' in m) {
        slot.ready = true;
        this.failedStarts = 0;
        this.pump();
        return;
      }
      const job = slot.job;
      if (!job || job.id !== m.id) return;
      this.finish(slot);
      this.stats.parsed++;
      job.resolve(m.result);
      this.pump();
    });
    // A crash (out of memory, a bug) fails only the message in hand; the worker is replaced.
    const died = (why: string) => {
      if (this.closed || !this.slots.includes(slot)) return;
      const job = slot.job;
      if (!slot.ready) this.failedStarts++;
      this.finish(slot);
      if (job) {
        this.stats.crashed++;
        job.resolve({ kind: 'unparseable', bounces: [], original: null, bounce: { from: '', to: [], subject: '', date: null }, why: `parser worker failed: ${why}` });
      }
      this.replace(slot, false);
    };
    worker.on('error', (e) => died(String((e as Error)?.message ?? e)));
    worker.on('exit', (code) => died(`exited with code ${code}`));
    return slot;
  }

  private finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    slot.worker.unref();
  }

  private replace(slot: Slot, terminate: boolean): void {
    const i = this.slots.indexOf(slot);
    if (i === -1) return;
    slot.worker.removeAllListeners();
    if (terminate) void slot.worker.terminate();
    if (this.failedStarts >= 3) {
      // The worker cannot even start (a broken install): fail the waiting messages instead of spinning.
      this.slots.splice(i, 1);
      this.failedStarts = 0;
      for (const j of this.queue.splice(0)) j.reject(new Error('bounce parser worker cannot start'));
      return;
    }
    this.slots[i] = this.spawn();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.job = job;
      slot.worker.ref(); // a message in hand keeps the process alive until it is answered
      slot.timer = setTimeout(() => {
        this.finish(slot);
        this.stats.timedOut++;
        job.resolve(overBudget('time', `parsing took longer than ${job.timeMs} ms`));
        this.replace(slot, true);
        this.pump();
      }, job.timeMs);
      const msg: WorkerJob = { id: job.id, raw: job.raw, opts: job.opts };
      slot.worker.postMessage(msg, [job.raw.buffer as ArrayBuffer]);
    }
  }
}

let shared: ParsePool | null = null;

/** The process-wide pool (created on first use; idle workers do not keep the process alive). */
export function sharedParsePool(): ParsePool {
  shared ??= new ParsePool();
  return shared;
}

/** parseBounce in the shared worker pool, with its time budget. */
export function parseBounceInWorker(raw: Buffer | Uint8Array, opts: ParseOptions = {}): Promise<ParsedBounce> {
  return sharedParsePool().parse(raw, opts);
}
