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

export function createPipeline(opts: PipelineOptions): Pipeline {
  const registry = Array.isArray(opts.defenses)
    ? opts.defenses.reduce((r, d) => r.register(d), new Registry())
    : opts.defenses;
  registry.validate(opts.catalog);
  const defenses = registry.list();
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

  async function runOne(d: Defense, sub: Submission, ctx: CheckContext, prior: RecordedFinding[]): Promise<CheckResult> {
    const ac = new AbortController();
    const timeoutMs = d.timeoutMs ?? defaultTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new TimeoutError(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const result = await Promise.race([d.check(sub, { ...ctx, signal: ac.signal, prior }), timeout]);
      if (!result || !['pass', 'flag', 'final', 'skip'].includes((result as CheckResult).kind)) {
        throw new Error(`returned an invalid result: ${JSON.stringify(result)}`);
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    defenses,
    async run(sub, ctx) {
      const symbols: RecordedFinding[] = [];
      const ran: string[] = [];
      let floor: Action = 'accept';
      let finalBy: string | undefined;
      let finalReason: string | undefined;
      let retryAfterSeconds: number | undefined;

      const add = (findings: Finding[] | undefined) => {
        for (const f of findings ?? []) {
          symbols.push(record(f, ctx));
          if (f.minAction) floor = maxAction(floor, f.minAction);
        }
      };

      for (const d of defenses) {
        let result: CheckResult;
        try {
          result = await runOne(d, sub, ctx, symbols);
        } catch (err) {
          const timedOut = err instanceof TimeoutError;
          const message = err instanceof Error ? err.message : String(err);
          ctx.warn(`defense ${d.name} ${timedOut ? 'timed out' : 'failed'} (${d.onError})`, { defense: d.name, error: message });
          const minAction: Action | undefined =
            d.onError === 'fail-closed' ? 'accept_no_autoreply' : d.onError === 'quarantine' ? 'quarantine' : undefined;
          add([
            {
              symbol: `${timedOut ? 'DEFENSE_TIMEOUT' : 'DEFENSE_ERROR'}:${d.name}`,
              detail: message.slice(0, 200),
              ...(minAction ? { minAction } : {}),
            },
          ]);
          continue;
        }
        if (result.kind === 'skip') continue;
        ran.push(d.name);
        add(result.findings);
        if (result.kind === 'final') {
          floor = maxAction(floor, result.action);
          finalBy = d.name;
          finalReason = result.reason;
          retryAfterSeconds = result.retryAfterSeconds;
          break;
        }
      }

      const score = round(symbols.reduce((s, f) => s + f.score, 0));
      const verdict: Verdict = { action: maxAction(actionForScore(score, ladder), floor), score, symbols };
      if (finalBy !== undefined) {
        verdict.finalBy = finalBy;
        verdict.finalReason = finalReason;
        if (retryAfterSeconds !== undefined) verdict.retryAfterSeconds = retryAfterSeconds;
      }
      return { verdict, ran };
    },
    async commit(sub, result, ctx) {
      for (const d of defenses) {
        if (!d.commit || !result.ran.includes(d.name)) continue;
        try {
          await d.commit(sub, result.verdict, ctx);
        } catch (err) {
          ctx.warn(`defense ${d.name} commit failed`, { defense: d.name, error: err instanceof Error ? err.message : String(err) });
        }
      }
    },
  };
}
