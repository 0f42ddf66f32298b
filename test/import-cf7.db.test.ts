// `formwarden import cf7` as the built command: the configuration it writes passes check-config, a server
// started on it takes an inquiry posted with the embed's field names, and the auto-reply it queues carries
// none of what the visitor typed. Also the DKIM record of check-config.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createTestDatabase, dbUnavailable, type TestDatabase } from './support/db.js';
import { projectRoot, runCli, runCliAsync, startServer } from './support/process.js';
import { SmtpSink } from './support/smtp-sink.js';
import { waitFor } from './support/wait.js';

const fixtures = path.join(projectRoot, 'src/import/cf7/fixtures');
const dir = mkdtempSync(path.join(tmpdir(), 'fw-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('formwarden import cf7', () => {
  it('a WordPress export: --out and --embed files, the report in English and Japanese, check-config accepts it', () => {
    const out = path.join(dir, 'fw.yaml');
    const embed = path.join(dir, 'embed.html');
    const r = runCli(['import', 'cf7', path.join(fixtures, 'export.xml'), '--out', out, '--embed', embed, '--notify-to', 'owner@example.jp', '--public-url', 'https://forms.example.jp']);
    expect(r.stderr).toContain('Imported 2 forms from Contact Form 7 / Contact Form 7 から 2 件のフォームを取り込みました');
    expect(r.stderr).toContain('[changed / 変更] Auto-reply (mail_2) repeated what the visitor typed');
    expect(r.stderr).toContain('自動返信（メール(2)）が訪問者の入力');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const yaml = readFileSync(out, 'utf8');
    expect(parse(yaml).forms.map((f: { id: string }) => f.id)).toEqual(['contact-form-1', 'contact']);
    expect(readFileSync(embed, 'utf8')).toContain('<form action="https://forms.example.jp/f/contact" method="post" data-formwarden>');
    const check = runCli(['--config', out, 'check-config']);
    expect(check.stdout).toContain('configuration OK');
    expect(check.stdout).toContain('form contact: 6 fields; notifies owner@example.jp');
    expect(check.status).toBe(0);
    // --out is not overwritten by accident.
    const again = runCli(['import', 'cf7', path.join(fixtures, 'export.xml'), '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('exists; use --force');
  });

  it('a bare template: the configuration on stdout, the embed on stderr', () => {
    const r = runCli(['import', 'cf7', path.join(fixtures, 'varied-ja.txt')]);
    expect(r.status).toBe(0);
    const cfg = parse(r.stdout);
    // 14 fields and the [file your-photo ...] tag as a file field (its embed posts multipart).
    expect(cfg.forms[0].fields.length).toBe(15);
    expect(cfg.forms[0].fields.find((f: { name: string }) => f.name === 'photo')).toMatchObject({ type: 'file', maxBytes: 2 * 1024 * 1024, accept: ['jpeg', 'png'] });
    expect(r.stderr).toContain('enctype="multipart/form-data"');
    expect(r.stderr).toContain('<script src="https://forms.example.jp/static/widget.js" defer></script>');
    expect(r.stderr).toContain('unknown tag [mc4wp_checkbox]');
  });

  it('unreadable input: exit 1; a file that is not a CF7 export or refuses XML safety: exit 2', () => {
    expect(runCli(['import', 'cf7', path.join(dir, 'missing.xml')]).status).toBe(1);
    const dtd = path.join(dir, 'dtd.xml');
    writeFileSync(dtd, '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]><rss><channel><title>&x;</title></channel></rss>');
    const r = runCli(['import', 'cf7', dtd]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/DOCTYPE/);
  });
});

describe('check-config and mail.dkim', () => {
  it('prints the TXT record to publish; a key that is not a private key stops with exit 2 and its path', () => {
    const key = path.join(dir, 'dkim.pem');
    writeFileSync(key, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const out = path.join(dir, 'dkim.yaml');
    expect(runCli(['import', 'cf7', path.join(fixtures, 'rest-default.json'), '--out', out, '--notify-to', 'owner@example.jp']).status).toBe(0);
    const yaml = readFileSync(out, 'utf8').replace('  transport: capture', '  transport: capture\n  dkim: { domain: example.com, selector: fw2026, privateKeyFile: dkim.pem }');
    writeFileSync(out, yaml);
    const r = runCli(['--config', out, 'check-config']);
    expect(r.stdout).toMatch(/fw2026\._domainkey\.example\.com\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="/);
    expect(r.stdout).toContain('DKIM: every mail is signed with d=example.com, s=fw2026');
    expect(r.status).toBe(0);
    writeFileSync(key, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const bad = runCli(['--config', out, 'check-config']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`mail.dkim.privateKeyFile (${key}) is a public key`);
  });
});

describe.skipIf(dbUnavailable())('an imported configuration in service', () => {
  const sink = new SmtpSink();
  let db: TestDatabase;
  beforeAll(async () => {
    await sink.start();
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await sink.stop();
    await db.drop();
  });

  it('takes an inquiry in the embed field names; notifies the owner; the queued auto-reply has no visitor text', async () => {
    const out = path.join(db.dir, 'imported.yaml');
    const r = runCli(['import', 'cf7', path.join(fixtures, 'export.xml'), '--out', out, '--notify-to', 'owner@example.jp']);
    expect(r.status).toBe(0);
    expect(existsSync(out)).toBe(true);
    const env = { FORMWARDEN_DATABASE_URL: db.url, FORMWARDEN_MAIL_TRANSPORT: `smtp://127.0.0.1:${sink.port}`, FORMWARDEN_PORT: '0' };
    const server = await startServer(['--config', out], { env });
    try {
      const spam = 'Cheap pills https://spam.example/buy';
      const fields = ['name=山田 太郎', 'email=taro@example.jp', 'topic=quote', 'department=sales@example.jp', `message=${spam}`, 'privacy=yes'];
      const post = await runCliAsync(['submit', '--url', server.url, '--form', 'contact', ...fields.flatMap((f) => ['--field', f])]);
      expect(post.stdout).toContain('HTTP 201');
      await waitFor(() => sink.to('owner@example.jp').length >= 1, 'the notification');
      const owner = sink.to('owner@example.jp')[0]!;
      expect(owner.parsed.text).toContain(spam);
      expect(owner.parsed.replyTo?.value[0]?.address).toBe('taro@example.jp');
      const mails = JSON.parse(runCli(['--config', out, 'mail', 'list', '--kind', 'autoreply', '--json'], { env }).stdout) as { id: string }[];
      expect(mails).toHaveLength(1);
      const shown = JSON.parse(runCli(['--config', out, 'mail', 'show', mails[0]!.id, '--json'], { env }).stdout) as { to_addr?: string; to?: string; subject: string; body: string };
      expect(`${shown.subject}\n${shown.body}`).not.toMatch(/spam\.example|Cheap pills|山田/);
      expect(shown.body).toMatch(/受付番号: [0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}/);
    } finally {
      await server.kill();
    }
  }, 120_000);
});
