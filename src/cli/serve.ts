// `formwarden serve`: the server and the outbox worker, until SIGINT/SIGTERM.
import type { AddressInfo } from 'node:net';
import { ConfigError, hostPart, lanAddresses, lintConfig, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createInstance, StartupError, type Instance } from '../main.js';
import { mustDuration } from '../util/duration.js';
import { relayReport } from './check-config.js';

export async function serve(configPath: string | undefined, listen: { host?: string; port?: string } = {}): Promise<number> {
  // --host and --port win over the file and the environment (FORMWARDEN_HOST, FORMWARDEN_PORT).
  if (listen.port !== undefined && !(/^\d+$/.test(listen.port) && Number(listen.port) <= 65535)) {
    throw new ConfigError('the command line', [`--port ${JSON.stringify(listen.port)}: not a port. Fix: a number from 0 to 65535 (0 picks a free one)`]);
  }
  if (listen.host !== undefined && !listen.host.trim()) throw new ConfigError('the command line', ['--host is empty. Fix: an address such as 0.0.0.0 (every interface) or 127.0.0.1']);
  const env = { ...process.env, ...(listen.host ? { FORMWARDEN_HOST: listen.host } : {}), ...(listen.port ? { FORMWARDEN_PORT: listen.port } : {}) };
  const loaded = loadConfig(configPath, env);
  process.stderr.write(`${relayReport(loaded.config)}\n`);
  for (const w of lintConfig(loaded.config).filter((i) => i.severity === 'warning')) process.stderr.write(`formwarden: warning: ${w.message}\n`);
  const level = loaded.config.server.logLevel;
  const instance = await createInstance(loaded, { logger: { level } });
  // The handlers go in before the "listening" line: a supervisor (or a test) that signals as soon as it reads
  // the line must find them there, or the signal's default action kills the process without draining.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  try {
    await instance.listen();
  } catch (e) {
    // A host that does not resolve or is not on this machine, a port taken or privileged: say so and which setting.
    await instance.close().catch(() => {});
    const { host, port } = loaded.config.server;
    throw new StartupError(`cannot listen on ${hostPart(host.slice(0, 100))}:${port} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Fix: server.host / --host must be an address of this machine (0.0.0.0: every interface), server.port / --port a free port`);
  }
  const bound = instance.app.server.address() as AddressInfo;
  const startup = startupInfo(loaded.config, bound, lanAddresses());
  const url = startup.listening;
  const log = instance.app.log;
  const rx = instance.bounceReceiver;
  if (rx && instance.verp) {
    process.stderr.write(`formwarden: bounce receiver (SMTP) on ${rx.host}:${rx.port} for ${instance.verp.prefix}+…@${instance.verp.domain}\n`);
    log.info({ host: rx.host, port: rx.port, domain: instance.verp.domain }, 'bounce receiver listening');
  }
  // One plain line whatever the log level, for people and scripts waiting for the server.
  process.stderr.write(`${startup.line}\n`);
  log.info(
    { url, bind: `${bound.address}:${bound.port}`, publicUrl: startup.publicUrl, config: loaded.file ?? 'built-in demo', database: redactUrl(loaded.config.database.url), transport: redactUrl(loaded.config.mail.transport) },
    'formwarden listening',
  );
  for (const form of loaded.config.forms) log.info({ form: form.id, page: `${startup.base}/f/${form.id}` }, 'form ready');
  const signal = await signalled;
  // A second signal while draining: leave at once (leases then run out as after a crash).
  const now = (second: NodeJS.Signals) => {
    process.stderr.write(`formwarden: ${second} again: exiting without draining\n`);
    process.exit(1);
  };
  process.once('SIGINT', now);
  process.once('SIGTERM', now);
  // SIGTERM comes from a service manager or a rolling restart: wait the grace for the balancer to notice.
  // SIGINT is Ctrl-C in a terminal: no balancer to wait for, so stop accepting at once (still finishing the
  // requests in flight and releasing leases).
  await drainAndClose(instance, signal === 'SIGINT' ? 0 : mustDuration(loaded.config.server.drainGrace), signal);
  return 0;
}

/**
 * The graceful stop (docs/scale.md): /healthz answers 503 + Retry-After at once, requests are still served
 * for `graceMs` (the balancer's health check notices), then the server stops accepting, finishes the
 * requests in flight, the workers stop and release the leases of mail they had not begun, and the stores close.
 */
export async function drainAndClose(instance: Instance, graceMs: number, signal: string): Promise<void> {
  const log = instance.app.log;
  instance.startDraining();
  process.stderr.write(`formwarden: ${signal}: draining (health check 503), closing in ${graceMs / 1000} s\n`);
  log.info({ signal, graceMs }, 'draining');
  if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
  log.info('shutting down');
  await instance.close();
  process.stderr.write(`formwarden: stopped (${instance.releasedLeases} outbox lease(s) released)\n`);
  log.info({ releasedLeases: instance.releasedLeases }, 'stopped');
}

/** Never log a password that sits in a URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/**
 * The start-up line: the address really bound (0.0.0.0 / :: = every interface, with the LAN addresses it is
 * reachable at), the public URL visitors and mail links use, and each form's page under it.
 */
export function startupInfo(config: Config, bound: { address: string; port: number }, lan: readonly string[] = []): { line: string; listening: string; base: string; publicUrl: string | null } {
  const listening = `http://${hostPart(bound.address)}:${bound.port}`;
  const everywhere = bound.address === '0.0.0.0' || bound.address === '::';
  const publicUrl = config.server.publicUrl?.replace(/\/+$/, '') ?? null;
  const reachable = everywhere ? lan.map((a) => `http://${hostPart(a)}:${bound.port}`) : [];
  const base = publicUrl ?? reachable[0] ?? (everywhere ? `http://127.0.0.1:${bound.port}` : listening);
  const where = everywhere ? ` (every interface${reachable.length ? `: ${reachable.join(', ')}` : ''})` : '';
  const pub = publicUrl
    ? `public URL ${publicUrl}${/^https:/i.test(publicUrl) ? '' : ' (plain http: no HSTS, pages load over http)'}`
    : `public URL not set (server.publicUrl): mail links use ${config.server.host === '0.0.0.0' || config.server.host === '::' ? `http://${hostPart(config.server.host)}:${config.server.port}` : `http://${config.server.host}:${config.server.port}`}`;
  const forms = config.forms.map((f) => `${base}/f/${f.id}`).join(', ');
  // The URL stands alone (space after it): scripts and tests take it with /listening on (http:\/\/\S+)/.
  return { line: `formwarden: listening on ${listening}${where} - ${pub} - forms: ${forms}`, listening, base, publicUrl };
}
