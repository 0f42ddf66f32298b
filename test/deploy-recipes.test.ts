// Issue #12: the shipped deploy recipes without a network. The systemd unit must load without a single
// complaint from systemd-analyze (an unknown key or a bad value is only a warning to systemd, which then
// runs the service unsandboxed) and stay hardened; the proxies' body limits must sit just above
// Formwarden's own (test/deploy-tls-browser.test.ts runs the proxies for real).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.js';
import { mustDuration } from '../src/util/duration.js';
import { projectRoot } from './support/process.js';

const recipe = (file: string) => readFileSync(path.join(projectRoot, file), 'utf8');

function systemdAnalyze(): string | null {
  const bin = '/usr/bin/systemd-analyze';
  try {
    accessSync(bin, constants.X_OK);
    return bin;
  } catch {
    if (process.env.CI) throw new Error(`${bin} is missing: .ci/run installs Debian's systemd`);
    process.stderr.write(`[deploy-recipes] systemd unit tests skipped: ${bin} not found (apt-get install systemd)\n`);
    return null;
  }
}
const ANALYZE = systemdAnalyze();

describe.skipIf(!ANALYZE)('deploy/formwarden.service', () => {
  // The unit as shipped, but with this machine's node (verify checks that ExecStart's program exists).
  const run = (args: string[]) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fw-unit-'));
    try {
      const unit = recipe('deploy/formwarden.service');
      expect(unit).toContain('ExecStart=/usr/bin/node ');
      const here = unit.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `);
      const file = path.join(dir, 'formwarden.service');
      writeFileSync(file, here);
      const r = spawnSync(ANALYZE!, [...args, file], { encoding: 'utf8', env: { ...process.env, SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' } });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('systemd-analyze verify finds nothing to say about it', () => {
    const r = run(['--man=no', 'verify']);
    // Lines about other units (a target this container lacks) are not the recipe's; every line about it is.
    const ours = r.out.split('\n').filter((l) => l.includes('formwarden.service'));
    expect(ours).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('its sandbox rates "OK" (exposure at most 2.0 of 10) in systemd-analyze security', () => {
    const r = run(['security', '--offline=yes', '--no-pager']);
    const level = /Overall exposure level for formwarden\.service: ([\d.]+)/.exec(r.out)?.[1];
    expect(level, r.out).toBeDefined();
    expect(Number(level)).toBeLessThanOrEqual(2);
  });
});

describe('the proxies’ body limits', () => {
  const d = configSchema.parse({ forms: [{ id: 'x', title: 'x', fields: [{ name: 'a', type: 'text' }], notify: { to: ['o@example.jp'] } }] });
  const ours = d.attachments.maxTotalBytes + d.server.bodyLimit;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1e3, mb: 1e6, gb: 1e9 } as Record<string, number>;
  const bytes = (m: RegExpExecArray | null) => (m ? Number(m[1]) * unit[m[2]!.toLowerCase()]! : NaN);

  it.each([
    ['deploy/nginx/formwarden.conf', /^\s*client_max_body_size (\d+)([kmg]?);/m],
    ['deploy/caddy/Caddyfile', /^\s*max_size (\d+)([KMG]i?B)?$/m],
  ])("%s: above attachments.maxTotalBytes + server.bodyLimit (the multipart framing fits), at most twice that", (file, pattern) => {
    const limit = bytes(pattern.exec(recipe(file)));
    expect(limit).toBeGreaterThan(ours + 64 * 1024);
    expect(limit).toBeLessThanOrEqual(2 * ours);
  });
});

describe('the unit lets serve drain', () => {
  // systemd kills the service after TimeoutStopSec: the drain (docs/scale.md) must fit inside it at the defaults.
  it('TimeoutStopSec covers server.drainGrace plus server.requestTimeout', () => {
    const d = configSchema.parse({ forms: [{ id: 'x', title: 'x', fields: [{ name: 'a', type: 'text' }], notify: { to: ['o@example.jp'] } }] });
    const m = /^TimeoutStopSec=(\d+)s$/m.exec(recipe('deploy/formwarden.service'));
    expect(m, 'TimeoutStopSec=<n>s in deploy/formwarden.service').not.toBeNull();
    expect(Number(m![1]) * 1000).toBeGreaterThan(mustDuration(d.server.drainGrace) + mustDuration(d.server.requestTimeout));
  });
});

describe('docs/deploy.md and docs/deploy.ja.md', () => {
  it.each(['docs/deploy.md', 'docs/deploy.ja.md'])('%s shows the shipped unit as it is and links every recipe', (doc) => {
    const text = recipe(doc);
    expect(text).toContain(`\`\`\`ini\n${recipe('deploy/formwarden.service')}\`\`\``);
    for (const file of ['deploy/formwarden.service', 'deploy/nginx/formwarden.conf', 'deploy/caddy/Caddyfile']) expect(text).toContain(`(../${file})`);
  });
});
