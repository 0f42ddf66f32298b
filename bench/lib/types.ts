// What every benchmark module returns, and what bench/run.ts gives it.

/** One line of the results table in docs/benchmarks.md. */
export interface Row {
  /** What was measured, e.g. "Accepted submissions/s (full path)". */
  name: string;
  value: number;
  unit: string;
  /** The figure this one is compared against, measured in the same run. */
  baseline?: { name: string; value: number };
  /** value / baseline (or a paired median of per-round ratios; the note says which). */
  ratio?: number;
  /** Human-readable target, e.g. "ratio ≥ 0.35" or "< 150 MB". */
  goal?: string;
  pass?: boolean;
  /** Short remark shown in the table's last column. */
  note?: string;
}

export interface BenchSettings {
  quick: boolean;
  rounds: number;
  /** Seconds per measured round. */
  duration: number;
  /** Seconds of unmeasured load per server before its first round. */
  warmup: number;
  connections: number;
  /** How the servers run: tsc-compiled JavaScript (as in production) or TypeScript via tsx. */
  runtime: 'compiled' | 'tsx';
}

export interface BenchContext {
  settings: BenchSettings;
  /** Figures earlier modules published for later ones to compare against (e.g. "hello-world"). */
  baselines: Map<string, { name: string; value: number; unit: string }>;
  log(message: string): void;
}

export interface BenchResult {
  rows: Row[];
  /** Free-form Markdown lines printed under the module's section (method, per-round figures). */
  details?: string[];
}

export interface BenchModule {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export type Comparison = '>=' | '>' | '<=' | '<' | '=';

/** A goal on a number: its display text and whether `actual` meets it. */
export function goal(actual: number | undefined, op: Comparison, target: number, label = ''): { goal: string; pass?: boolean } {
  const sym = { '>=': '≥', '>': '>', '<=': '≤', '<': '<', '=': '=' }[op];
  const text = `${label ? `${label} ` : ''}${sym} ${target}`;
  if (actual === undefined || !Number.isFinite(actual)) return { goal: text };
  const pass = op === '>=' ? actual >= target : op === '>' ? actual > target : op === '<=' ? actual <= target : op === '<' ? actual < target : actual === target;
  return { goal: text, pass };
}
