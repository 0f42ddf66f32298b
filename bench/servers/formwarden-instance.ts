// Loaded by formwarden.ts after the heap settings. The server under test: a real Formwarden instance (createInstance) on a fresh SQLite file in the
// temp folder, the capture transport, the outbox worker running, logger off, a free loopback port.
// The temp folder is removed on shutdown. BENCH_DEFENSES chooses other defenses (see below).
import path from 'node:path';
import { ConfigError, parseConfigText } from '../../src/config/load.js';
import { outboxDepth } from '../../src/mail/outbox.js';
import { createInstance } from '../../src/main.js';
import { CONTACT_FORMS_YAML, PLAIN_POST_DEFENSES } from '../lib/forms.js';
import { runServerInTempDir } from './child.js';

const FORMS = CONTACT_FORMS_YAML;

// Part 1's figure is the intake path itself: PLAIN_POST_DEFENSES (bench/lib/forms.ts) says which defenses
// are off and why.

// Load shedding is off: the benches measure the paths themselves at full load, where shedding would
// answer some posts 503 instead (it has its own tests, src/http/shedding.db.test.ts).
const benchConfig = (dbUrl: string, defenses: string) => `
siteName: Example Shop
server: { host: 127.0.0.1, port: 0, publicUrl: "http://127.0.0.1:8787", logLevel: silent, loadShedding: { enabled: false } }
database: { url: "${dbUrl}" }
mail:
  from: "Example Shop <info@example.jp>"
  transport: capture
${defenses}
${FORMS}`;

/**
 * The bench configuration. BENCH_DEFENSES (YAML indented under `defenses:`; empty = every default)
 * replaces part 1's defenses, for the rejection benches (bench/rejection.ts).
 */
function loadBenchConfig(dbUrl: string) {
  const custom = process.env.BENCH_DEFENSES;
  const defenses = custom === undefined ? PLAIN_POST_DEFENSES : custom.trim() ? `defenses:\n${custom.replace(/^/gm, '  ')}` : '';
  try {
    return parseConfigText(benchConfig(dbUrl, defenses), 'bench');
  } catch (e) {
    if (e instanceof ConfigError && e.problems.some((p) => p.includes('"defenses"'))) return parseConfigText(benchConfig(dbUrl, ''), 'bench');
    throw e;
  }
}

await runServerInTempDir('fw-bench-', async (dir) => {
  // BENCH_DATABASE_URL: a PostgreSQL database of its own (bench/intake.ts creates and drops it); SQLite otherwise.
  const config = loadBenchConfig(process.env.BENCH_DATABASE_URL || `sqlite:${path.join(dir, 'bench.db')}`);
  const instance = await createInstance({ config, file: null, baseDir: dir }, { logger: false, startWorker: true });
  const url = await instance.listen();
  return {
    url,
    close: () => instance.close(),
    async stats() {
      const depth = await outboxDepth(instance.db.kysely);
      const byAction = await instance.db.kysely
        .selectFrom('submissions')
        .select(['action', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('action')
        .execute();
      const states = Object.fromEntries(Object.entries(depth).map(([state, n]) => [`outbox.${state}`, n]));
      const actions = Object.fromEntries(byAction.map((r) => [`action.${r.action}`, Number(r.n)]));
      const submissions = byAction.reduce((a, r) => a + Number(r.n), 0);
      // Which path answered: the submissions counter by outcome (blocked, no_token, accept, ...).
      const outcomes: Record<string, number> = {};
      for (const v of (await instance.metrics.submissions.get()).values) {
        const key = `outcome.${String(v.labels.outcome ?? '?')}`;
        outcomes[key] = (outcomes[key] ?? 0) + v.value;
      }
      return { ...states, ...actions, ...outcomes, pending: depth.pending ?? 0, submissions };
    },
  };
});
