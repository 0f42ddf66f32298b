// Baseline: bare Fastify hello-world GET in its own process. Later figures (rejections, pipeline)
// are given as ratios against this rate, measured in the same run.
import { interleavedRounds } from './lib/load.js';
import { startServer } from './lib/server.js';
import { median, range, round } from './lib/stats.js';
import type { BenchModule } from './lib/types.js';

export const HELLO_WORLD = 'hello-world';

export const baseline: BenchModule = {
  id: 'baseline',
  title: 'Baseline: bare Fastify hello-world',
  async run(ctx) {
    const { settings: s } = ctx;
    const hello = await startServer('hello', 'hello.ts');
    try {
      const spec = { label: 'hello-world GET', method: 'GET' as const, path: '/', expectStatus: 200 };
      const results = await interleavedRounds([{ server: hello, spec }], { ...s, log: ctx.log });
      const rounds = results.rounds.get(spec.label)!;
      const rate = median(rounds.map((r) => r.okPerSecond));
      const name = 'Hello-world GET, bare Fastify (req/s)';
      ctx.baselines.set(HELLO_WORLD, { name, value: rate, unit: 'req/s' });
      const unexpected = rounds.reduce((a, r) => a + r.unexpected, 0);
      return {
        rows: [
          { name, value: rate, unit: 'req/s', note: 'baseline for later figures' },
          { name: 'Hello-world GET latency p99', value: median(rounds.map((r) => r.latencyMs.p99)), unit: 'ms' },
        ],
        details: [
          `- hello-world: ${rounds.map((r) => round(r.okPerSecond)).join(', ')} req/s per round (range ${range(rounds.map((r) => r.okPerSecond))}); ` +
            `server CPU ${round(median(rounds.map((r) => r.serverCpuPct)))}% of a core; peak RSS ${round(rounds.at(-1)?.serverPeakRssMb ?? Number.NaN, 1)} MB; ` +
            `unexpected responses/errors: ${unexpected}`,
        ],
      };
    } finally {
      await hello.stop();
    }
  },
};
