// The server's heap, sized for a small machine. V8 left to itself lets a busy intake's heap grow far past
// what it keeps: the young generation doubles up to 2 x 16 MiB, and the old generation is allowed up to
// several times what survived the last full collection before the next one, so the accepted path peaked at
// 220-250 MB RSS with about 30 MB of live objects (bench/intake.ts). Two V8 settings bound that, both read
// by V8 each time it resizes, so they can be set from here (a command-line flag would only hold where
// someone remembered it):
//   - the old generation may grow 20% past what survived before the next full collection;
//   - the young generation stops growing at 2 x 4 MiB: growth is allowed while it is smaller (it shrinks
//     when idle and must be able to grow back) and switched off once it is there, checked after every
//     collection (a GC observer, so from the event loop: call this before a long synchronous start-up, which
//     runs with growth off).
//     That holds on V8 12 (Node 20, 22), which grows the young generation by doubling; V8 13 (Node 24) sizes
//     it by its own rule, and there the cap only slows its growth (src/util/heap.test.ts).
// Measured on the intake bench (same run, same machine): peak RSS ~165 MB with the first alone, ~140 MB with
// both, against ~220-250 MB; CPU per request unchanged within the noise (docs/benchmarks.md).
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

export interface LeanHeapOptions {
  /** How far past the surviving objects the old generation may grow before a full collection (%). */
  growingPercent?: number;
  /** The largest semi-space (MiB); the young generation is two of them. */
  semiSpaceMb?: number;
}

export interface LeanHeap {
  /** Young-generation growth switched off (true) or allowed (false) right now. */
  readonly capped: boolean;
  stop(): void;
}

/** V8 heap flags the operator set for this process (NODE_OPTIONS or the command line): theirs win. */
const OPERATOR_FLAGS = /--(max-semi-space-size|semi-space-growth-factor|heap-growing-percent|max-old-space-size)\b/;

export function operatorHeapFlags(execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  return execArgv.some((a) => OPERATOR_FLAGS.test(a.replace(/_/g, '-'))) || OPERATOR_FLAGS.test(nodeOptions.replace(/_/g, '-'));
}

const youngBytes = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

/** Bounds this process's heap as above; does nothing (capped stays false) when the operator set heap flags. */
export function leanHeap(opts: LeanHeapOptions = {}): LeanHeap {
  const state = { capped: false, stop() {} };
  if (operatorHeapFlags()) return state;
  v8.setFlagsFromString(`--heap-growing-percent=${opts.growingPercent ?? 20}`);
  const youngMax = 2 * (opts.semiSpaceMb ?? 4) * 1024 * 1024;
  const adjust = (capped: boolean) => {
    if (capped === state.capped) return;
    state.capped = capped;
    v8.setFlagsFromString(`--semi-space-growth-factor=${capped ? 1 : 2}`);
  };
  // No growth until the event loop runs: a synchronous start-up (modules, configuration, migrations) keeps every
  // object it makes, which V8 answers by doubling the young generation at each collection, past the cap before
  // any observer could say so. From then on it may grow, one collection at a time, up to the cap.
  adjust(true);
  const observer = new PerformanceObserver(() => adjust(youngBytes() >= youngMax));
  observer.observe({ entryTypes: ['gc'] });
  state.stop = () => {
    observer.disconnect();
    if (state.capped) v8.setFlagsFromString('--semi-space-growth-factor=2');
    state.capped = false;
  };
  return state;
}
