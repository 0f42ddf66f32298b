// check-config and serve agree: a configuration check-config calls OK starts, and one that serve refuses at
// start-up is refused by check-config with the same words. Generated: configurations with a defect (or none) in
// each place serve checks beyond the schema (From addresses, DKIM keys of the instance and of a site, IP lists,
// patterns, geo databases, proxy and /metrics ranges, IMAP URLs), on a real SQLite file.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../config/load.js';
import { BASE_FORM } from '../../test/support/instance.js';
import { createInstance, StartupError } from '../main.js';
import { startupProblems } from './check-config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'fw-check-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = path.join(dir, 'dkim.pem');
writeFileSync(key, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
const missing = path.join(dir, 'nowhere.pem');

// Each place holds a good value four times in five, so about one configuration in eight has no defect at all.
const place = (good: string, ...bad: string[]) => fc.oneof({ arbitrary: fc.constant(good), weight: 4 }, { arbitrary: fc.constantFrom(...bad), weight: 1 });
const from = place('"Example Shop <info@example.jp>"', '"info@example.jp, sales@example.jp"', '"Example Shop"');
const dkim = fc.oneof(fc.constant(''), place(`{ domain: example.jp, selector: fw1, privateKeyFile: "${key}" }`, `{ domain: example.jp, selector: fw1, privateKeyFile: "${missing}" }`));
const site = fc.record({ from: fc.oneof(fc.constant(''), place('"Other <hello@other.example>"', '"not an address"')), dkim });
const block = fc.oneof(fc.constant('[]'), place('[203.0.113.0/24]', '[10.0.0.300/8]', '[{ cidr: "bad" }]', '["2001:db8::/129"]'));
const pattern = fc.oneof(fc.constant('[]'), place('["viagra"]', '["(unclosed"]', '["[z-a]"]'));
const geo = place('', `, countryDb: "${path.join(dir, 'none.mmdb')}"`, `, asnDb: "${path.join(dir, 'none-asn.mmdb')}"`);
const ranges = place('[127.0.0.1, 10.0.0.0/8, "::1"]', '[proxy.lan]', '[127.0.0.1/33]');
const imap = fc.oneof(fc.constant(''), place('imaps://user:secret@127.0.0.1:1/INBOX', 'imaps://127.0.0.1:1/INBOX', 'imap://u:%zz@127.0.0.1:1/INBOX'));

describe('check-config and serve agree (property)', () => {
  it('a configuration starts exactly when check-config finds nothing, and a refusal names the same problems', async () => {
    const seen = { started: 0, refusedAtStart: 0, refusedBySchema: 0 };
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({ from, dkim, site: fc.option(site, { nil: undefined }), block, pattern, geo, trustProxy: ranges, metricsFrom: ranges, imap }),
        async (c) => {
          const yaml = `
server: { host: 127.0.0.1, port: 0, publicUrl: "http://127.0.0.1:8787", logLevel: silent, trustProxy: ${c.trustProxy}, metricsFrom: ${c.metricsFrom} }
database: { url: "sqlite:${path.join(dir, `run-${n++}.db`)}" }
mail: { from: ${c.from}, transport: capture${c.dkim ? `, dkim: ${c.dkim}` : ''} }
defenses:
  ipLists: { block: ${c.block} }
  content: { disallowedPatterns: ${c.pattern} }
  geo: { enabled: true${c.geo} }
${c.imap ? `bounces: { imap: { url: "${c.imap}" } }` : ''}
${c.site ? `sites: [{ id: shop, forms: [contact], mail: { ${[c.site.from && `from: ${c.site.from}`, c.site.dkim && `dkim: ${c.site.dkim}`].filter(Boolean).join(', ')} } }]` : ''}
forms:${BASE_FORM}`;
          let config;
          try {
            config = parseConfigText(yaml, 'generated.yaml');
          } catch (e) {
            // Both commands load the file the same way: refused by the schema, refused by both.
            expect(e).toBeInstanceOf(ConfigError);
            seen.refusedBySchema++;
            return;
          }
          const loaded = { config, file: null, baseDir: dir };
          const problems = startupProblems(loaded);
          let started: Awaited<ReturnType<typeof createInstance>> | null = null;
          let refusal: unknown = null;
          try {
            started = await createInstance(loaded, { startWorker: false });
          } catch (e) {
            refusal = e;
          } finally {
            await started?.close();
          }
          if (refusal === null) {
            expect(problems).toEqual([]);
            seen.started++;
          } else {
            // A clear refusal (never a stack trace), and check-config said the same.
            expect(refusal).toBeInstanceOf(StartupError);
            expect(problems.length).toBeGreaterThan(0);
            for (const line of (refusal as Error).message.split('\n')) expect(problems).toContain(line);
            seen.refusedAtStart++;
          }
        },
      ),
      {
        numRuns: 40,
        // One configuration with no defect and one per kind of start-up problem, then random mixes.
        examples: [
          [{ from: '"Example Shop <info@example.jp>"', dkim: '', site: undefined, block: '[]', pattern: '[]', geo: '', trustProxy: '[127.0.0.1]', metricsFrom: '[127.0.0.1]', imap: '' }],
          [{ from: '"Example Shop <info@example.jp>"', dkim: '', site: { from: '"not an address"', dkim: '' }, block: '[]', pattern: '[]', geo: '', trustProxy: '[127.0.0.1]', metricsFrom: '[127.0.0.1]', imap: '' }],
          [{ from: '"Example Shop <info@example.jp>"', dkim: '', site: undefined, block: '[10.0.0.300/8]', pattern: '[]', geo: '', trustProxy: '[127.0.0.1]', metricsFrom: '[127.0.0.1]', imap: '' }],
          [{ from: '"Example Shop <info@example.jp>"', dkim: '', site: undefined, block: '[]', pattern: '[]', geo: '', trustProxy: '[127.0.0.1]', metricsFrom: '[127.0.0.1]', imap: 'imaps://127.0.0.1:1/INBOX' }],
        ],
      },
    );
    expect(seen.started).toBeGreaterThan(0);
    expect(seen.refusedAtStart).toBeGreaterThan(0);
  });
});
