// Issue #12, "deploy recipes, tested here for real": the shipped deploy/nginx/formwarden.conf and
// deploy/caddy/Caddyfile, with only their ports, certificate and upstream templated, terminate TLS in front
// of `formwarden serve`. Chromium fills in the hosted form over https; the answer must carry Formwarden's
// CSP and HSTS, and the stored inquiry the address the proxy saw (127.0.0.1), not the X-Forwarded-For the
// client forged. A recipe that passes the client's X-Forwarded-For on, exposes /metrics, or cuts posts
// below Formwarden's own limits fails here; so does a post just over server.bodyLimit that nginx turned into
// a 502 (Formwarden closed the connection before nginx had sent the body: src/http/oversize-body.test.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.js';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { BASE_FORM, testConfigYaml } from './support/instance.js';
import { stablePort } from './support/ports.js';
import { projectRoot, startServer, type ServerProcess } from './support/process.js';
import { waitFor } from './support/wait.js';

const FORGED = '203.0.113.66';

/** An executable on PATH (or at one of the usual places), or null. */
function findExecutable(name: string, usual: string[] = []): string | null {
  for (const candidate of [...(process.env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, name)), ...usual]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return null;
}

/** Installed, or a skip with a message outside CI (.ci/run installs it). */
function tool(name: string, pkg: string, usual: string[] = []): string | null {
  const found = findExecutable(name, usual);
  if (found) return found;
  if (process.env.CI) throw new Error(`${name} is missing: .ci/run installs Debian's ${pkg}`);
  process.stderr.write(`[deploy-tls] ${name} tests skipped: ${name} not found (apt-get install ${pkg})\n`);
  return null;
}

const OPENSSL = tool('openssl', 'openssl');
const NGINX = tool('nginx', 'nginx', ['/usr/sbin/nginx']);
const CADDY = tool('caddy', 'caddy');

/** The shipped recipe with the given replacements; each must apply, so a changed recipe is noticed here. */
function templated(file: string, replacements: [string | RegExp, string][]): string {
  let text = readFileSync(path.join(projectRoot, file), 'utf8');
  for (const [from, to] of replacements) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`${file} no longer contains ${String(from)}: update the recipe's template in this test`);
    text = next;
  }
  return text;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request; over https it trusts only the test's own certificate. */
function fetchRaw(url: string, opts: { ca?: string; method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Answer> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(u, { method: opts.method ?? 'GET', headers: opts.headers, ca: opts.ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A multipart/form-data body: text fields, and files for the field "doc". */
function multipart(fields: Record<string, string>, files: Buffer[]): { type: string; body: Buffer } {
  const boundary = `----fw${Date.now().toString(36)}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  files.forEach((file, i) => {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="doc"; filename="f${i}.pdf"\r\nContent-Type: application/pdf\r\n\r\n`), file, Buffer.from('\r\n'));
  });
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { type: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

interface Proxy {
  name: string;
  /** https://127.0.0.1:port */
  url: string;
  /** The plain-http listener that redirects to https. */
  plainUrl: string;
  output(): string;
  stop(): Promise<void>;
}

async function runProxy(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, url: string, plainUrl: string, ca: string): Promise<Proxy> {
  const child: ChildProcess = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  const proxy: Proxy = {
    name,
    url,
    plainUrl,
    output: () => out,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`${name} exited: ${out}`);
        return (await fetchRaw(`${url}/healthz`, { ca })).status === 200;
      },
      `${name} to answer over https`,
      60_000,
      100,
    );
  } catch (e) {
    await proxy.stop();
    throw e;
  }
  return proxy;
}

async function startNginx(dir: string, ports: { https: number; plain: number; upstream: number }, tls: { cert: string; key: string }): Promise<Proxy> {
  const site = templated('deploy/nginx/formwarden.conf', [
    [/^\s*listen \[::\]:\d+[^;]*;\n/gm, ''],
    ['listen 443 ssl;', `listen 127.0.0.1:${ports.https} ssl;`],
    ['listen 80;', `listen 127.0.0.1:${ports.plain};`],
    ['/etc/letsencrypt/live/forms.example.jp/fullchain.pem', tls.cert],
    ['/etc/letsencrypt/live/forms.example.jp/privkey.pem', tls.key],
    ['http://127.0.0.1:8787', `http://127.0.0.1:${ports.upstream}`],
  ]);
  const prefix = path.join(dir, 'nginx');
  mkdirSync(prefix);
  writeFileSync(path.join(prefix, 'formwarden.conf'), site);
  // What Debian's /etc/nginx/nginx.conf provides around sites-enabled/, with every path in the temp dir.
  // As root, the workers would run as nobody, who cannot write the 0700 temp dir: keep them as root here.
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${path.join(prefix, t)};`).join('\n  ');
  writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `${process.getuid?.() === 0 ? 'user root root;\n' : ''}worker_processes 1;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 128; }
http {
  access_log ${path.join(prefix, 'access.log')};
  ${temp}
  include ${path.join(prefix, 'formwarden.conf')};
}
`,
  );
  const args = ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;'];
  const proxy = await runProxy('nginx', NGINX!, args, process.env, `https://127.0.0.1:${ports.https}`, `http://127.0.0.1:${ports.plain}`, readFileSync(tls.cert, 'utf8'));
  const output = proxy.output;
  proxy.output = () => {
    try {
      return `${output()}${readFileSync(path.join(prefix, 'error.log'), 'utf8')}`;
    } catch {
      return output();
    }
  };
  return proxy;
}

async function startCaddy(dir: string, ports: { https: number; plain: number; upstream: number }, tls: { cert: string; key: string }): Promise<Proxy> {
  const home = path.join(dir, 'caddy');
  mkdirSync(home);
  const site = templated('deploy/caddy/Caddyfile', [
    ['forms.example.jp {', `127.0.0.1 {\n\ttls ${tls.cert} ${tls.key}`],
    ['reverse_proxy 127.0.0.1:8787', `reverse_proxy 127.0.0.1:${ports.upstream}`],
  ]);
  // Global options: no admin endpoint, the test's ports, and nothing written outside the temp dir.
  const file = path.join(home, 'Caddyfile');
  writeFileSync(file, `{\n\tadmin off\n\thttp_port ${ports.plain}\n\thttps_port ${ports.https}\n\tstorage file_system ${path.join(home, 'data')}\n\tskip_install_trust\n}\n\n${site}`);
  const env = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'xdg-data'), XDG_CONFIG_HOME: path.join(home, 'xdg-config') };
  return runProxy('caddy', CADDY!, ['run', '--config', file, '--adapter', 'caddyfile'], env, `https://127.0.0.1:${ports.https}`, `http://127.0.0.1:${ports.plain}`, readFileSync(tls.cert, 'utf8'));
}

describe.skipIf(!OPENSSL || chromiumMissing())('the deploy recipes terminate TLS in front of `formwarden serve`', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-deploy-'));
  const tls = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  const ports = { nginx: { https: 0, plain: 0 }, caddy: { https: 0, plain: 0 } };
  let ca = '';
  let server: ServerProcess;
  let upstream = 0;
  let browser: Browser;

  beforeAll(async () => {
    const r = spawnSync(OPENSSL!, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', tls.key, '-out', tls.cert], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    ca = readFileSync(tls.cert, 'utf8');
    const taken = new Set<number>();
    const freePort = async (): Promise<number> => {
      for (;;) {
        const port = await stablePort();
        if (taken.has(port)) continue;
        taken.add(port);
        return port;
      }
    };
    for (const p of [ports.nginx, ports.caddy]) {
      p.https = await freePort();
      p.plain = await freePort();
    }
    // As docs/deploy.md says: publicUrl is the https address, the proxy on this machine is trusted.
    const forms = `${BASE_FORM}
  - id: upload
    title: Upload
    fields: [{ name: message, type: textarea }, { name: doc, type: file }]
    notify: { to: [owner@example.jp] }
`;
    const yaml = testConfigYaml({ dbUrl: `sqlite:${path.join(dir, 'formwarden.db')}`, forms }).replace('publicUrl: "http://127.0.0.1:8787"', `publicUrl: "https://127.0.0.1:${ports.nginx.https}"`);
    expect(yaml).toContain('trustProxy: [127.0.0.1]');
    writeFileSync(path.join(dir, 'formwarden.yaml'), yaml);
    server = await startServer(['--config', path.join(dir, 'formwarden.yaml')], { cwd: dir });
    upstream = Number(new URL(server.url).port);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const storedIp = (receipt: string): string | undefined => {
    const db = new Database(path.join(dir, 'formwarden.db'), { readonly: true });
    try {
      return (db.prepare('select ip from submissions where receipt = ?').get(receipt) as { ip: string } | undefined)?.ip;
    } finally {
      db.close();
    }
  };

  const suites: [string, string | null, (p: { https: number; plain: number; upstream: number }) => Promise<Proxy>, () => { https: number; plain: number }][] = [
    ['nginx (deploy/nginx/formwarden.conf)', NGINX, (p) => startNginx(dir, p, tls), () => ports.nginx],
    ['Caddy (deploy/caddy/Caddyfile)', CADDY, (p) => startCaddy(dir, p, tls), () => ports.caddy],
  ];
  for (const [title, binary, start, portsOf] of suites) {
    describe.skipIf(!binary)(title, () => {
      let proxy: Proxy;
      beforeAll(async () => {
        proxy = await start({ ...portsOf(), upstream });
      }, 90_000);
      afterAll(async () => {
        await proxy?.stop();
      });

      it('a visitor forging X-Forwarded-For sends the form over https: thank-you page, CSP and HSTS, stored with the address the proxy saw', async () => {
        const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US', extraHTTPHeaders: { 'X-Forwarded-For': FORGED } });
        try {
          const page = await context.newPage();
          const form = (await page.goto(`${proxy.url}/f/contact?lang=en`))!;
          expect(form.status()).toBe(200);
          expect(form.headers()['content-security-policy']).toContain("form-action 'self'");
          await page.getByLabel('Name').fill('TLS Visitor');
          await page.getByLabel('Email').fill('tls@example.jp');
          await page.getByLabel('Message').fill(`Sent over https through ${proxy.name}.`);
          const thanks = page.waitForResponse((res) => new URL(res.url()).pathname === '/f/contact/thanks');
          await page.getByRole('button', { name: 'Send' }).click();
          const answer = await thanks;
          await page.waitForURL(/\/f\/contact\/thanks/);
          expect(new URL(page.url()).origin).toBe(proxy.url);
          expect(answer.status()).toBe(200);
          await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Thank you');
          const headers = answer.headers();
          expect(headers['content-security-policy']).toContain("form-action 'self'");
          expect(headers['content-security-policy']).toContain('upgrade-insecure-requests');
          expect(headers['strict-transport-security']).toMatch(/max-age=\d+/);
          const receipt = (await page.locator('.fw-receipt').textContent())!;
          expect(storedIp(receipt)).toBe('127.0.0.1');
        } finally {
          await context.close();
        }
      }, 120_000);

      it('plain http is redirected to https', async () => {
        const r = await fetchRaw(`${proxy.plainUrl}/f/contact`);
        expect([301, 302, 307, 308]).toContain(r.status);
        expect(r.headers.location).toMatch(/^https:\/\/127\.0\.0\.1(:\d+)?\/f\/contact$/);
      });

      it('/metrics is not served through the proxy (it is, directly on 127.0.0.1)', async () => {
        expect((await fetchRaw(`${proxy.url}/metrics`, { ca })).status).toBe(404);
        expect((await fetchRaw(`${proxy.url}/metrics?x=1`, { ca })).status).toBe(404);
        expect((await fetchRaw(`${server.url}/metrics`)).status).toBe(200);
      });

      it("posts over Formwarden's own limits reach Formwarden, which answers with its 413 page (not the proxy, not a 502)", async () => {
        const defaults = configSchema.parse({ forms: [{ id: 'x', title: 'x', fields: [{ name: 'a', type: 'text' }], notify: { to: ['o@example.jp'] } }] });
        const html = { 'accept-language': 'en' };
        // Text: just over server.bodyLimit.
        const text = await fetchRaw(`${proxy.url}/f/contact`, { ca, method: 'POST', headers: { ...html, 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(`message=${'a'.repeat(defaults.server.bodyLimit + 1024)}`) });
        expect([text.status, text.headers['content-security-policy']], `text post; ${proxy.name}: ${proxy.output().slice(-2000)}`).toEqual([413, expect.stringContaining("form-action 'self'")]);
        // Files: as many as a field takes, together just over attachments.maxTotalBytes.
        const { maxTotalBytes, maxFiles } = defaults.attachments;
        const upload = multipart({ message: 'files' }, Array.from({ length: maxFiles }, () => Buffer.alloc(Math.ceil((maxTotalBytes + 1024) / maxFiles), 'a')));
        const files = await fetchRaw(`${proxy.url}/f/upload`, { ca, method: 'POST', headers: { ...html, 'content-type': upload.type }, body: upload.body });
        expect([files.status, files.headers['content-security-policy']], `file post; ${proxy.name}: ${proxy.output().slice(-2000)}`).toEqual([413, expect.stringContaining("form-action 'self'")]);
        expect(files.body).toContain('too large together');
      }, 120_000);
    });
  }
});
