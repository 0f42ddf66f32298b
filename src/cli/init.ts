// `formwarden init`: a commented configuration with freshly generated secrets.
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configTemplate } from '../config/demo.js';

export async function init(file: string, force: boolean): Promise<number> {
  const target = path.resolve(file);
  if (existsSync(target) && !force) {
    process.stderr.write(`formwarden: ${target} exists; use --force to overwrite it\n`);
    return 1;
  }
  const secret = () => randomBytes(32).toString('base64url');
  writeFileSync(target, configTemplate({ tokenKey: secret(), linkKey: secret() }), { mode: 0o600 });
  process.stdout.write(`wrote ${target}\nnext: edit mail.from and forms[].notify.to, then \`npx formwarden check-config\` and \`npx formwarden serve\`\n`);
  return 0;
}
