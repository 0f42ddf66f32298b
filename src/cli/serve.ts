// `formwarden serve`: the server and the outbox worker, until SIGINT/SIGTERM.
import { lintConfig, loadConfig } from '../config/load.js';
import { createInstance } from '../main.js';
import { relayReport } from './check-config.js';

export async function serve(configPath: string | undefined): Promise<number> {
  const loaded = loadConfig(configPath);
  process.stderr.write(`${relayReport(loaded.config)}\n`);
  for (const w of lintConfig(loaded.config).filter((i) => i.severity === 'warning')) process.stderr.write(`formwarden: warning: ${w.message}\n`);
  const level = loaded.config.server.logLevel;
  const instance = await createInstance(loaded, { logger: { level } });
  const url = await instance.listen();
  const log = instance.app.log;
  const rx = instance.bounceReceiver;
  if (rx && instance.verp) {
    process.stderr.write(`formwarden: bounce receiver (SMTP) on ${rx.host}:${rx.port} for ${instance.verp.prefix}+…@${instance.verp.domain}\n`);
    log.info({ host: rx.host, port: rx.port, domain: instance.verp.domain }, 'bounce receiver listening');
  }
  // One plain line whatever the log level, for people and scripts waiting for the server.
  process.stderr.write(`formwarden: listening on ${url} (forms: ${loaded.config.forms.map((f) => `${url}/f/${f.id}`).join(', ')})\n`);
  log.info({ url, config: loaded.file ?? 'built-in demo', database: redactUrl(loaded.config.database.url), transport: redactUrl(loaded.config.mail.transport) }, 'formwarden listening');
  for (const form of loaded.config.forms) log.info({ form: form.id, page: `${url}/f/${form.id}` }, 'form ready');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('shutting down');
  await instance.close();
  return 0;
}

/** Never log a password that sits in a URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
