// `formwarden check-config`: validates the file and prints a summary (exit 2 when invalid).
import { loadConfig } from '../config/load.js';
import { parseFrom } from '../mail/message.js';

export async function checkConfig(configPath: string | undefined): Promise<number> {
  const loaded = loadConfig(configPath);
  const { config } = loaded;
  if (!parseFrom(config.mail.from)) {
    process.stderr.write(`formwarden: mail.from: "${config.mail.from}" is not one address. Fix: write it as "Example Shop <info@example.jp>"\n`);
    return 2;
  }
  const out: string[] = [`configuration OK: ${loaded.file ?? 'built-in demo'}`];
  for (const form of config.forms) {
    out.push(`form ${form.id}: ${form.fields.length} fields; notifies ${form.notify.to.join(', ')}`);
    if (form.autoreply?.enabled) out.push(`  auto-reply to the address in field "${form.autoreply.to}" (echo: ${form.autoreply.echo})`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
