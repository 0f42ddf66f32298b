// `formwarden check-config`: validates the file and prints a summary (exit 2 when invalid).
import { lintConfig, loadConfig } from '../config/load.js';
import { formatRelayReport, relayRisks } from '../relay/risks.js';
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
  }
  out.push('', relayReport(config));
  for (const w of lintConfig(config).filter((i) => i.severity === 'warning')) out.push(`warning: ${w.message}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** Every mail whose recipient a visitor types, with what protects it. */
export function relayReport(config: import('../config/schema.js').Config): string {
  return formatRelayReport(config.forms.flatMap((f) => relayRisks(f)));
}
