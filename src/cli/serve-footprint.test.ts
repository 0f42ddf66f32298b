// What a default `serve` (the built-in demo: SQLite, no Redis, no IMAP, no bounce receiver, no image
// captcha) loads: the packages only other configurations use are loaded on first use (src/util/load-later.ts
// and `await import()`), which keeps ~16 MB out of every such instance (bench/intake.ts reports the RSS at
// start). The server runs with a module hook that refuses those packages: it starts, serves the form and
// its health check only if nothing imports them on the way. A control run refuses a package the server
// does need, to show the hook takes effect on this Node.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { configTemplate } from '../config/demo.js';
import { withoutLoadShedding } from '../../test/support/load-shedding.js';
import { runCli, startServer, type ServerProcess } from '../../test/support/process.js';

const OPTIONAL = ['pg', 'ioredis', 'imapflow', 'smtp-server', 'svg-captcha'];

function setup(refused: string[]): { cwd: string; env: NodeJS.ProcessEnv } {
  const cwd = mkdtempSync(path.join(tmpdir(), 'fw-footprint-'));
  const yaml = withoutLoadShedding(configTemplate());
  expect(yaml).toContain('  loadShedding: { enabled: false }');
  writeFileSync(path.join(cwd, 'formwarden.yaml'), yaml);
  writeFileSync(
    path.join(cwd, 'refuse.mjs'),
    `const refused = new Set(${JSON.stringify(refused)});
export async function resolve(specifier, context, next) {
  if (refused.has(specifier)) throw new Error('refused at start: ' + specifier);
  return next(specifier, context);
}
`,
  );
  writeFileSync(path.join(cwd, 'hook.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(cwd, 'refuse.mjs')).href)});\n`);
  return { cwd, env: { FORMWARDEN_PORT: '0', FORMWARDEN_CONFIG: '', NODE_OPTIONS: `--import=${pathToFileURL(path.join(cwd, 'hook.mjs')).href}` } };
}

describe('a default serve does not load the packages of optional subsystems', () => {
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.kill();
  });

  it(`starts, serves the demo form and answers its health check with ${OPTIONAL.join(', ')} refused`, async () => {
    const { cwd, env } = setup(OPTIONAL);
    server = await startServer([], { cwd, env });
    const page = await fetch(`${server.url}/f/contact`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.output()).not.toContain('refused at start');
  }, 120_000);

  it('control: refusing a package serve needs (fastify) stops it at start, naming the package', async () => {
    const { cwd, env } = setup(['fastify']);
    const r = runCli(['serve'], { cwd, env, timeoutMs: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('refused at start: fastify');
  }, 120_000);
});
