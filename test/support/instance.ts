// An in-process Formwarden on a fresh test database, listening on a free loopback port.
import { parseConfigText } from '../../src/config/load.js';
import { createInstance, type Instance, type InstanceOptions } from '../../src/main.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export const BASE_FORM = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}", body: "{{name}} <{{email}}>\\n\\n{{message}}" }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}" }
`;

export interface TestInstance {
  instance: Instance;
  url: string;
  db: TestDatabase;
  close(): Promise<void>;
}

/**
 * Defenses as in production, but with no fill-time wait, a tiny proof-of-work and no rate limits
 * (every test client is 127.0.0.1), so tests stay fast; the defenses' own tests turn them back on.
 */
export const TEST_DEFENSES = `
defenses:
  formToken: { minFillSeconds: 0 }
  altcha: { cost: 10, minNumber: 5, maxNumber: 40 }
  rateLimit: { enabled: false }
`;

/**
 * Every bot check passes (token, honeypot); proof-of-work, content rules, geo, rate limits and bans
 * are off, so only the relay protections stand between a bot and its victims: the worst case.
 */
export const OPEN_DEFENSES = `
defenses:
  formToken: { minFillSeconds: 0, maxAgeMinutes: 100000 }
  altcha: { enabled: false }
  rateLimit: { enabled: false }
  content: { enabled: false }
  geo: { enabled: false }
  ipLists: { ban: false }
`;

/**
 * A plain POST of the fields (and the empty honeypot `website`) is accepted with score 0: no token, proof or
 * rate limit needed, as in the intake bench, whose constant it is. For tests of the write path.
 */
export { PLAIN_POST_DEFENSES } from '../../bench/lib/forms.js';

/**
 * Load shedding is off unless asked for: on a loaded CI machine the event loop of a test process can lag
 * enough to shed a test's token-less post; src/http/shedding.db.test.ts sets the pressure by hand.
 */
export function testConfigYaml(opts: { dbUrl: string; transport?: string; forms?: string; extra?: string; defenses?: string; loadShedding?: boolean }): string {
  return `
siteName: Example Shop
server: { host: 127.0.0.1, port: 0, publicUrl: "http://127.0.0.1:8787", logLevel: silent, trustProxy: [127.0.0.1]${opts.loadShedding ? '' : ', loadShedding: { enabled: false }'} }
database: { url: "${opts.dbUrl}" }
mail:
  from: "Example Shop <info@example.jp>"
  transport: "${opts.transport ?? 'capture'}"
  retry: [1s, 1s, 1s]
  # Sized for a loaded 2-core machine: a sink (often in the same process) held up for a few seconds must
  # not be taken for a dead server (a retry, or a second copy of a mail it already took). Leases are
  # twice the sum: 30 s.
  timeouts: { connect: 5s, greeting: 5s, socket: 5s }
${opts.defenses ?? TEST_DEFENSES}
${opts.extra ?? ''}
forms:${opts.forms ?? BASE_FORM}`;
}

export interface TestInstanceOptions extends InstanceOptions {
  /** mail.transport: "capture" (default) or smtp://127.0.0.1:PORT */
  smtp?: string;
  forms?: string;
  extra?: string;
  defenses?: string;
  db?: TestDatabase;
  /** Keep server.loadShedding at its default (on); off otherwise. */
  loadShedding?: boolean;
}

export async function startTestInstance(opts: TestInstanceOptions = {}): Promise<TestInstance> {
  const { smtp, forms, extra, defenses, loadShedding, ...instanceOptions } = opts;
  const db = opts.db ?? (await createTestDatabase());
  const config = parseConfigText(testConfigYaml({ dbUrl: db.url, transport: smtp, forms, extra, defenses, loadShedding }), 'test');
  const instance = await createInstance({ config, file: null, baseDir: db.dir }, instanceOptions);
  const url = await instance.listen();
  return {
    instance,
    url,
    db,
    async close() {
      await instance.close();
      if (!opts.db) await db.drop();
    },
  };
}
