// The console bench's server (bench/console.ts): a real Formwarden instance on a fresh SQLite file holding
// BENCH_SUBMISSIONS stored submissions (default 100,000) spread over the last 30 days, with an owner account
// (BENCH_CONSOLE_USER / BENCH_CONSOLE_PASSWORD) to log in with. The rows are written in bulk (multi-row inserts in
// transactions) before the server listens; they look like real ones: fields, a verdict with symbols, a mix of
// outcomes, client addresses from a few hundred networks.
import path from 'node:path';
import { addUser } from '../../src/admin/users.js';
import { parseConfigText } from '../../src/config/load.js';
import { createInstance } from '../../src/main.js';
import { CONTACT_FORMS_YAML, MESSAGES, NAMES } from '../lib/forms.js';
import { runServerInTempDir } from './child.js';

const BENCH_OWNER = process.env.BENCH_CONSOLE_USER ?? 'bench-owner@example.jp';
const BENCH_PASSWORD = process.env.BENCH_CONSOLE_PASSWORD ?? 'bench console password';

const config = (dbUrl: string) => `
siteName: Example Shop
server: { host: 127.0.0.1, port: 0, publicUrl: "http://127.0.0.1:8787", logLevel: silent, loadShedding: { enabled: false } }
database: { url: "${dbUrl}" }
timeZone: Asia/Tokyo
mail:
  from: "Example Shop <info@example.jp>"
  transport: capture
defenses:
  rateLimit: { enabled: false }
${CONTACT_FORMS_YAML}`;

const SYMBOLS = [
  ['TOKEN_MISSING', 3],
  ['HONEYPOT_FILLED', 10],
  ['CONTENT_LINKS', 2],
  ['GEO_COUNTRY_UNKNOWN', 1],
  ['DUPLICATE_CONTENT', 4],
] as const;

/** A deterministic pseudo-random sequence (the same rows every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function fill(db: Awaited<ReturnType<typeof createInstance>>['db'], count: number, now: number): Promise<number> {
  const t0 = Date.now();
  const r = rng(42);
  const span = 30 * 86_400_000;
  const batch = 1000;
  for (let i = 0; i < count; ) {
    await db.kysely.transaction().execute(async (trx) => {
      for (let j = 0; j < 10 && i < count; j++) {
        const rows = [];
        for (let k = 0; k < batch && i < count; k++, i++) {
          const x = r();
          const action = x < 0.8 ? 'accept' : x < 0.85 ? 'accept_no_autoreply' : x < 0.95 ? 'quarantine' : 'reject';
          const symbols = SYMBOLS.filter(() => r() < (action === 'accept' ? 0.05 : 0.5)).map(([symbol, score]) => ({ symbol, score }));
          const net = Math.floor(r() * 400);
          const ip = net % 5 === 0 ? `2001:db8:${net.toString(16)}:1::${(i % 250) + 1}` : `198.${18 + (net % 2)}.${net % 250}.${(i % 250) + 1}`;
          rows.push({
            id: `s_bench${String(i).padStart(10, '0')}`,
            form_id: 'contact',
            created_at: now - Math.floor((i / count) * span) - Math.floor(r() * 1000),
            ip,
            user_agent: 'Mozilla/5.0 (bench)',
            lang: 'ja',
            fields: JSON.stringify({ name: NAMES[i % NAMES.length], email: `visitor${i}@example.jp`, message: `${MESSAGES[i % MESSAGES.length]} (#${i})` }),
            action,
            score: symbols.reduce((s, y) => s + y.score, 0),
            verdict: JSON.stringify({ action, score: symbols.reduce((s, y) => s + y.score, 0), symbols }),
            autoreply: action === 'accept' ? 'queued' : 'none',
            notify: action === 'reject' ? 'none' : 'queued',
            content_hash: `h${i % 5000}`,
            autoreply_to: action === 'accept' ? `visitor${i}@example.jp` : null,
            receipt: `B${String(i).padStart(9, '0')}`,
          });
        }
        await trx.insertInto('submissions').values(rows).execute();
      }
    });
  }
  return Date.now() - t0;
}

await runServerInTempDir('fw-bench-console-', async (dir) => {
  const count = Number(process.env.BENCH_SUBMISSIONS ?? 100_000);
  const cfg = parseConfigText(config(`sqlite:${path.join(dir, 'bench.db')}`), 'bench');
  const instance = await createInstance({ config: cfg, file: null, baseDir: dir }, { logger: false, startWorker: false });
  const fillMs = await fill(instance.db, count, Date.now());
  await addUser(instance.db.kysely, { email: BENCH_OWNER, role: 'owner', password: BENCH_PASSWORD, knownForms: cfg.forms.map((f) => f.id) });
  const url = await instance.listen();
  return {
    url,
    close: () => instance.close(),
    async stats() {
      const n = await instance.db.kysely.selectFrom('submissions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { submissions: Number(n.n), fillMs };
    },
  };
});
