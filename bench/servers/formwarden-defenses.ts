// A Formwarden instance for the rejection benches (bench/rejection.ts): like formwarden.ts (createInstance on
// a fresh SQLite file in the temp folder, capture transport, logger off, a free loopback port), but with the
// `defenses:` section taken from the BENCH_DEFENSES environment variable (YAML, indented under
// `defenses:`; empty = every default). Its stats are the submissions counter by outcome (blocked,
// no_token, rate_limited, accept, ...) and the rows stored, so the parent can check which path answered.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { createInstance } from '../../src/main.js';
import { runServer } from './child.js';

// The same contact form as formwarden.ts (and the test suite's BASE_FORM).
const FORMS = `
forms:
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}", body: "{{name}} <{{email}}>\\n\\n{{message}}" }
    autoreply: { enabled: true, to: email, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}" }
`;

const config = (dbUrl: string, defenses: string) => `
siteName: Example Shop
server: { host: 127.0.0.1, port: 0, publicUrl: "http://127.0.0.1:8787", logLevel: silent }
database: { url: "${dbUrl}" }
mail:
  from: "Example Shop <info@example.jp>"
  transport: capture
${defenses.trim() ? `defenses:\n${defenses.replace(/^/gm, '  ')}` : ''}
${FORMS}`;

await runServer(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fw-bench-rej-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const cfg = parseConfigText(config(`sqlite:${path.join(dir, 'bench.db')}`, process.env.BENCH_DEFENSES ?? ''), 'bench');
    const instance = await createInstance({ config: cfg, file: null, baseDir: dir }, { logger: false, startWorker: true });
    const url = await instance.listen();
    return {
      url,
      async close() {
        try {
          await instance.close();
        } finally {
          cleanup();
        }
      },
      async stats() {
        const counter = await instance.metrics.submissions.get();
        const out: Record<string, number> = {};
        for (const v of counter.values) {
          const key = `outcome.${String(v.labels.outcome ?? '?')}`;
          out[key] = (out[key] ?? 0) + v.value;
        }
        const stored = await instance.db.kysely
          .selectFrom('submissions')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirst();
        return { ...out, submissions: Number(stored?.n ?? 0) };
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
});
