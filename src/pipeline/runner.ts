import { isThenable } from '../util/maybe-async.js';
import { Registry } from './registry.js';
import { actionForScore, compileLadder, lookupSymbol, maxAction } from './scoring.js';
import type {
  Action,
  ActionLadder,
  CheckContext,
  CheckResult,
  Defense,
  Finding,
  RecordedFinding,
  Submission,
  SymbolCatalog,
  Verdict,
} from './types.js';

export interface PipelineOptions {
  defenses: Registry | Defense[];
  catalog: SymbolCatalog;
  ladder?: Partial<ActionLadder>;
  /** Timeout for defenses that declare none. Default 5000 ms. */
  defaultTimeoutMs?: number;
}

export interface RunResult {
  verdict: Verdict;
  /** Names of the defenses whose check completed (pass, flag or final); only these are committed. */
  ran: string[];
}

export interface Pipeline {
  readonly defenses: readonly Defense[];
  run(sub: Submission, ctx: CheckContext): Promise<RunResult>;
  /** Runs `commit` of the defenses that ran, in order. Errors are reported through ctx.warn, never thrown. */
  commit(sub: Submission, result: RunResult, ctx: CheckContext): Promise<void>;
}

class TimeoutError extends Error {}

const round = (n: number) => Math.round(n * 100) / 100;
const KINDS = new Set(['pass', 'flag', 'final', 'skip']);

function validResult(result: CheckResult): CheckResult {
  if (!result || !KINDS.has((result as CheckResult).kind)) throw new Error(`returned an invalid result: ${JSON.stringify(result)}`);
  return result;
}

/** The findings and answers of one run, folded into a verdict. */
class Tally {
  readonly symbols: RecordedFinding[] = [];
  readonly ran: string[] = [];
  floor: Action = 'accept';
  /** Symbols a finding of this run stands for (Finding.replaces): left out of the verdict. */
  readonly replaced = new Set<string>();
  final?: { by: string; reason: string; retryAfterSeconds?: number };
  constructor(private readonly record: (f: Finding) => RecordedFinding) {}

  add(findings: Finding[] | undefined): void {
    if (!findings) return;
    for (const f of findings) {
      this.symbols.push(this.record(f));
      if (f.minAction) this.floor = maxAction(this.floor, f.minAction);
      for (const r of f.replaces ?? []) this.replaced.add(r);
    }
  }

  /** Records a completed result; true when it ends the run. */
  take(name: string, result: CheckResult): boolean {
    if (result.kind === 'skip') return false;
    this.ran.push(name);
    this.add(result.findings);
    if (result.kind !== 'final') return false;
    this.floor = maxAction(this.floor, result.action);
    this.final = { by: name, reason: result.reason, retryAfterSeconds: result.retryAfterSeconds };
    return true;
  }

  result(ladder: ActionLadder): RunResult {
    const symbols = this.replaced.size ? this.symbols.filter((f) => !this.replaced.has(f.symbol)) : this.symbols;
    let sum = 0;
    for (const f of symbols) sum += f.score;
    const score = round(sum);
    const verdict: Verdict = { action: maxAction(actionForScore(score, ladder), this.floor), score, symbols };
    if (this.final) {
      verdict.finalBy = this.final.by;
      verdict.finalReason = this.final.reason;
      if (this.final.retryAfterSeconds !== undefined) verdict.retryAfterSeconds = this.final.retryAfterSeconds;
    }
    return { verdict, ran: this.ran };
  }
}

/** The check now running in a run: its abort signal is made only if the check asks for it (an AbortController per check is costly). */
interface CheckState {
  ac?: AbortController;
  expired: boolean;
}

/** Every field of CheckContext is carried by RunContext below: a new field fails to compile until it is added there. */
type Carried = 'clock' | 'replay' | 'fetch' | 'warn' | 'signal' | 'prior';
const allCarried: [Exclude<keyof CheckContext, Carried>] extends [never] ? true : never = true;
void allCarried;

/**
 * One context for all the checks of a run (they run one after another): the caller's, with `prior` (the
 * run's findings so far) and `signal`, which is the signal of the check running when it is read. A check
 * reads it as it starts its I/O (a check that timed out and goes on later gets the signal it already holds).
 */
class RunContext implements CheckContext {
  readonly clock: CheckContext['clock'];
  readonly replay: CheckContext['replay'];
  readonly fetch: CheckContext['fetch'];
  readonly warn: CheckContext['warn'];
  private current: CheckState = { expired: false };
  // A class rather than a spread with a getter: that object literal cost more than some checks.
  constructor(
    base: CheckContext,
    readonly prior: readonly RecordedFinding[],
  ) {
    this.clock = base.clock;
    this.replay = base.replay;
    this.fetch = base.fetch;
    this.warn = base.warn;
  }
  get ctx(): CheckContext {
    return this;
  }
  get signal(): AbortSignal {
    const c = this.current;
    c.ac ??= new AbortController();
    if (c.expired) c.ac.abort();
    return c.ac.signal;
  }
  begin(): CheckState {
    this.current = { expired: false };
    return this.current;
  }
}

/**
 * Check deadlines, watched by one timer for every check in flight (a timer set and cleared per check cost
 * more than most checks): a deadline fires within WATCH_MS of its time. The timer runs only while checks
 * are in flight, and keeps the process alive as a pending check's own timer did.
 */
interface Deadline {
  at: number;
  expire(): void;
}
const WATCH_MS = 10;
const watching = new Set<Deadline>();
let watcher: NodeJS.Timeout | undefined;
function watch(deadline: Deadline): void {
  watching.add(deadline);
  watcher ??= setInterval(() => {
    const now = performance.now(); // monotonic, as the timers were: a clock set forward expires nothing
    for (const d of watching) {
      if (d.at > now) continue;
      watching.delete(d);
      d.expire();
    }
    if (watching.size === 0) {
      clearInterval(watcher);
      watcher = undefined;
    }
  }, WATCH_MS);
}

export function createPipeline(opts: PipelineOptions): Pipeline {
  const registry = Array.isArray(opts.defenses)
    ? opts.defenses.reduce((r, d) => r.register(d), new Registry())
    : opts.defenses;
  registry.validate(opts.catalog);
  const defenses = registry.list();
  const prechecked = defenses.filter((d) => typeof d.precheck === 'function');
  const ladder = compileLadder(opts.ladder);
  const defaultTimeoutMs = opts.defaultTimeoutMs ?? 5000;
  const catalog = opts.catalog;
  const warnedUnknown = new Set<string>();

  function record(f: Finding, ctx: CheckContext): RecordedFinding {
    const def = lookupSymbol(catalog, f.symbol);
    if (!def && !warnedUnknown.has(f.symbol)) {
      warnedUnknown.add(f.symbol);
      ctx.warn(`symbol ${f.symbol} is not in the catalog; it scores 0`);
    }
    const weight = f.weight ?? 1;
    const out: RecordedFinding = { symbol: f.symbol, score: round((def?.score ?? 0) * weight) };
    if (f.detail !== undefined) out.detail = f.detail;
    return out;
  }

  /** A check's answer, as it came (a synchronous one throws here if it is not a result). */
  function runOne(d: Defense, sub: Submission, run: RunContext): CheckResult | Promise<CheckResult> {
    const check = run.begin();
    const answer = d.check(sub, run.ctx);
    if (!isThenable(answer)) return validResult(answer);
    const timeoutMs = d.timeoutMs ?? defaultTimeoutMs;
    return new Promise<CheckResult>((resolve, reject) => {
      const deadline: Deadline = {
        at: performance.now() + timeoutMs,
        expire() {
          check.expired = true;
          check.ac?.abort();
          reject(new TimeoutError(`timed out after ${timeoutMs} ms`));
        },
      };
      watch(deadline);
      answer.then(
        (result) => {
          watching.delete(deadline);
          try {
            resolve(validResult(result));
          } catch (err) {
            reject(err);
          }
        },
        (err: unknown) => {
          watching.delete(deadline);
          reject(err);
        },
      );
    });
  }

  /** Cheap rejection first: the prechecks, in order; a run result only when one of them is final. */
  function precheck(sub: Submission, ctx: CheckContext): RunResult | null {
    let done: [string, CheckResult][] | undefined;
    for (const d of prechecked) {
      let r: CheckResult | undefined;
      try {
        r = d.precheck!(sub, ctx);
      } catch {
        continue; // the check itself runs later and reports the error
      }
      if (!r || r.kind === 'skip') continue;
      (done ??= []).push([d.name, r]);
      if (r.kind === 'final') {
        const tally = new Tally((f) => record(f, ctx));
        for (const [name, result] of done) tally.take(name, result);
        return tally.result(ladder);
      }
    }
    return null;
  }

  return {
    defenses,
    async run(sub, ctx) {
      if (prechecked.length > 0) {
        const early = precheck(sub, ctx);
        if (early) return early;
      }
      const tally = new Tally((f) => record(f, ctx));
      const checks = new RunContext(ctx, tally.symbols);
      for (const d of defenses) {
        let result: CheckResult;
        try {
          const answer = runOne(d, sub, checks);
          result = isThenable(answer) ? await answer : answer;
        } catch (err) {
          const timedOut = err instanceof TimeoutError;
          const message = err instanceof Error ? err.message : String(err);
          ctx.warn(`defense ${d.name} ${timedOut ? 'timed out' : 'failed'} (${d.onError})`, { defense: d.name, error: message });
          const minAction: Action | undefined =
            d.onError === 'fail-closed' ? 'accept_no_autoreply' : d.onError === 'quarantine' ? 'quarantine' : undefined;
          tally.add([
            {
              symbol: `${timedOut ? 'DEFENSE_TIMEOUT' : 'DEFENSE_ERROR'}:${d.name}`,
              detail: message.slice(0, 200),
              ...(minAction ? { minAction } : {}),
            },
          ]);
          continue;
        }
        if (tally.take(d.name, result)) break;
      }
      return tally.result(ladder);
    },
    async commit(sub, result, ctx) {
      for (const d of defenses) {
        if (!d.commit || !result.ran.includes(d.name)) continue;
        try {
          const done = d.commit(sub, result.verdict, ctx);
          if (isThenable(done)) await done;
        } catch (err) {
          ctx.warn(`defense ${d.name} commit failed`, { defense: d.name, error: err instanceof Error ? err.message : String(err) });
        }
      }
    },
  };
}
