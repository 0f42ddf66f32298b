// `formwarden init` writes this machine's time zone, secrets, Japanese-first mails with an English
// translation, and a notification without a custom body (every field, with the receipt number).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintConfig, parseConfigText } from '../config/load.js';
import { init, systemTimeZone } from './init.js';

describe('formwarden init', () => {
  it('writes a valid configuration with the proposed time zone and no warnings about the notification', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'fw-init-')), 'formwarden.yaml');
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      expect(await init(file, false)).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const zone = systemTimeZone();
    expect(out.join('')).toContain(`(timeZone: ${zone}, this machine's)`);
    const config = parseConfigText(readFileSync(file, 'utf8'), file);
    expect(config.timeZone).toBe(zone);
    expect(config.secrets.tokenKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(config.forms[0]!.notify.body).toBeUndefined();
    expect(config.forms[0]!.autoreply!.translations?.en?.body).toContain('{{receipt_id}}');
    expect(lintConfig(config).filter((i) => i.code === 'W_NOTIFY_FIELD_OMITTED')).toEqual([]);
  });
});
