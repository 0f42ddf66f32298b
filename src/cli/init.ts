// `formwarden init`: a commented configuration with freshly generated secrets.
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configTemplate } from '../config/demo.js';
import { isTimeZone } from '../mail/template.js';

/** The machine's IANA time zone (TZ, else the system setting), or UTC when it has none usable. */
export function systemTimeZone(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.TZ?.replace(/^:/, '');
  if (fromEnv && fromEnv.includes('/') && isTimeZone(fromEnv)) return fromEnv;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && isTimeZone(zone) ? zone : 'UTC';
}

export async function init(file: string, force: boolean): Promise<number> {
  const target = path.resolve(file);
  if (existsSync(target) && !force) {
    process.stderr.write(`formwarden: ${target} exists; use --force to overwrite it\n`);
    return 1;
  }
  const secret = () => randomBytes(32).toString('base64url');
  const timeZone = systemTimeZone();
  writeFileSync(target, configTemplate({ tokenKey: secret(), linkKey: secret() }, { timeZone }), { mode: 0o600 });
  process.stdout.write(
    `wrote ${target} (timeZone: ${timeZone}, this machine's)\nnext: edit mail.from and forms[].notify.to, then \`npx formwarden check-config\` and \`npx formwarden serve\`\n`,
  );
  return 0;
}
