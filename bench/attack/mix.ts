// Scenario mixes: the presets, and the `kind=count[@rate][/concurrency][:addresses]` syntax.
import { KINDS, type Kind, type ScenarioSpec } from './scenarios.js';

const DEFAULT_CONCURRENCY: Record<Kind, number> = {
  naive: 16,
  replay: 8,
  'too-fast': 8,
  honeypot: 16,
  solver: 4,
  distributed: 8,
  victims: 8,
  inject: 4,
  oversize: 2,
  slow: 4,
  genuine: 40,
};
const DEFAULT_ADDRESSES: Record<Kind, number> = {
  naive: 50,
  replay: 1,
  'too-fast': 10,
  honeypot: 10,
  solver: 1,
  distributed: 100,
  victims: 50,
  inject: 10,
  oversize: 2,
  slow: 2,
  genuine: 0,
};

export function spec(kind: Kind, count: number, rate = 0, concurrency?: number, addresses?: number): ScenarioSpec {
  return { kind, count, rate, concurrency: concurrency ?? DEFAULT_CONCURRENCY[kind], addresses: addresses ?? DEFAULT_ADDRESSES[kind] };
}

export const PRESETS: Record<string, { description: string; durationSeconds?: number; scenarios: ScenarioSpec[] }> = {
  /** Every scenario, fixed counts: a minute or so on a small machine. */
  mix: {
    description: 'every scenario with fixed counts (about a minute)',
    scenarios: [
      spec('naive', 400, 40),
      spec('replay', 50, 10),
      spec('too-fast', 40, 10),
      spec('honeypot', 40, 10),
      spec('solver', 12, 2),
      spec('distributed', 80, 0, 16, 100),
      spec('victims', 40, 0, 16, 50),
      spec('inject', 16, 0),
      spec('oversize', 6, 1),
      spec('slow', 4, 0),
      spec('genuine', 60, 2),
    ],
  },
  /** The bench: one minute, full solvers and naive bots from 250 addresses as fast as possible, genuine visitors in parallel. */
  flood: {
    description: 'one minute: full solvers (150 addresses) + naive bots (100 addresses) as fast as they go, 1 genuine visitor/s',
    durationSeconds: 60,
    scenarios: [spec('distributed', Infinity, 0, 12, 150), spec('naive', Infinity, 0, 32, 100), spec('genuine', Infinity, 1, 40)],
  },
};

/** "naive=200@50,distributed=300/8:100,genuine=30@1" */
export function parseMix(text: string): ScenarioSpec[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([a-z-]+)=(\d+|inf)(?:@(\d+(?:\.\d+)?))?(?:\/(\d+))?(?::(\d+))?$/.exec(part);
      if (!m) throw new Error(`--mix: cannot read "${part}" (use kind=count[@rate][/concurrency][:addresses], count may be inf)`);
      const kind = m[1] as Kind;
      if (!KINDS.includes(kind)) throw new Error(`--mix: unknown scenario "${kind}" (have ${KINDS.join(', ')})`);
      return spec(kind, m[2] === 'inf' ? Infinity : Number(m[2]), m[3] ? Number(m[3]) : 0, m[4] ? Number(m[4]) : undefined, m[5] ? Number(m[5]) : undefined);
    });
}
