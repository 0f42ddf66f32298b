// DKIM keys and signatures, checked by an independent verifier (mailauth) with a DNS stub that answers
// the TXT record Formwarden prints: RSA and Ed25519 pass, any change to a signed part fails.
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/load.js';
import { verifyDkim as verify } from '../../test/support/dkim.js';
import { testConfigYaml } from '../../test/support/instance.js';
import { dkimDnsRecord, dkimKeyProblem, dkimReport, dkimSigner, loadDkimKey, type DkimConfig, type DkimKey } from './dkim.js';
import { buildMessage, type OutgoingMail } from './message.js';

const dir = mkdtempSync(path.join(tmpdir(), 'fw-dkim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeKey(name: string, pem: string | Buffer, mode = 0o600): string {
  const file = path.join(dir, name);
  writeFileSync(file, pem);
  chmodSync(file, mode);
  return file;
}
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
writeKey('rsa.pem', rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeKey('rsa1.pem', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }));
writeKey('ed.pem', ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));

const mail = (over: Partial<OutgoingMail> = {}): OutgoingMail => ({
  id: 'm_test',
  kind: 'autoreply',
  from: 'Example Shop <info@example.jp>',
  to: 'taro@example.com',
  replyTo: null,
  subject: 'お問い合わせありがとうございます',
  body: '受付番号 s_123\nありがとうございました。\n',
  messageId: '<m_test@example.jp>',
  date: new Date('2026-04-01T00:00:00Z'),
  headers: { 'List-Unsubscribe': '<https://forms.example.jp/u/x>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  ...over,
});

describe('DKIM keys', () => {
  const cfg = (file: string): DkimConfig => ({ domain: 'example.jp', selector: 'fw1', privateKeyFile: file });

  it('reads RSA (PKCS#8 and PKCS#1) and Ed25519 PEM keys, relative to the configuration folder', () => {
    expect(loadDkimKey(cfg('rsa.pem'), dir)).toMatchObject({ algorithm: 'rsa', bits: 2048, readableByOthers: false });
    expect(loadDkimKey(cfg('rsa1.pem'), dir)).toMatchObject({ algorithm: 'rsa', bits: 2048 });
    const k = loadDkimKey(cfg('ed.pem'), dir);
    expect(k.algorithm).toBe('ed25519');
    expect(Buffer.from(k.publicKey, 'base64')).toHaveLength(32);
  });

  it('refuses what cannot sign, naming the key path and the fix', () => {
    writeKey('pub.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    writeKey('enc.pem', rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }));
    writeKey('ec.pem', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeKey('short.pem', generateKeyPairSync('rsa', { modulusLength: 768 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeKey('der.key', rsa.privateKey.export({ type: 'pkcs8', format: 'der' }));
    writeKey('broken.pem', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    const cases: [string, RegExp][] = [
      ['missing.pem', /does not exist/],
      ['pub.pem', /is a public key/],
      ['enc.pem', /encrypted with a passphrase/],
      ['ec.pem', /is a ec key; DKIM signs with RSA \(rsa-sha256\) or Ed25519/],
      ['short.pem', /RSA key of 768 bits/],
      ['der.key', /is not a PEM private key/],
      ['broken.pem', /is not a valid PEM private key/],
      ['.', /is a folder/],
    ];
    for (const [file, why] of cases) {
      const problem = dkimKeyProblem(cfg(file), dir);
      expect(problem, file).toMatch(why);
      expect(problem).toContain(`mail.dkim.privateKeyFile (${path.resolve(dir, file)})`);
      expect(problem).toContain('Fix:');
    }
  });

  it('a configuration with a bad key does not load (ConfigError, exit 2 in the CLI); a good one does', () => {
    const yaml = (file: string) =>
      testConfigYaml({ dbUrl: 'sqlite:./x.db' }).replace(
        '  from: "Example Shop <info@example.jp>"',
        `  from: "Example Shop <info@example.jp>"\n  dkim: { domain: example.jp, selector: fw1, privateKeyFile: ${file} }`,
      );
    writeFileSync(path.join(dir, 'good.yaml'), yaml('rsa.pem'));
    writeFileSync(path.join(dir, 'bad.yaml'), yaml('pub.pem'));
    expect(loadConfig(path.join(dir, 'good.yaml')).config.mail.dkim).toEqual({ domain: 'example.jp', selector: 'fw1', privateKeyFile: 'rsa.pem' });
    let error: unknown;
    try {
      loadConfig(path.join(dir, 'bad.yaml'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`mail.dkim.privateKeyFile (${path.join(dir, 'pub.pem')}) is a public key`);
  });

  it('prints the TXT record to publish: RSA split into 255-character strings, Ed25519 the raw key', () => {
    const r = dkimDnsRecord(cfg('rsa.pem'), loadDkimKey(cfg('rsa.pem'), dir));
    expect(r.name).toBe('fw1._domainkey.example.jp');
    expect(r.value).toMatch(/^v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA[A-Za-z0-9+/=]+$/);
    expect(r.zoneLine).toMatch(/^fw1\._domainkey\.example\.jp\. IN TXT \( "v=DKIM1; k=rsa; p=[^"]{237}" "[^"]+" \)$/);
    const e = dkimDnsRecord(cfg('ed.pem'), loadDkimKey(cfg('ed.pem'), dir));
    expect(e.zoneLine).toMatch(/^fw1\._domainkey\.example\.jp\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$/);
    const report = dkimReport({ mail: { from: 'Shop <info@other.example>', dkim: cfg('ed.pem') } }, dir).join('\n');
    expect(report).toContain(e.zoneLine);
    expect(report).toContain('is not the domain of mail.from');
    writeKey('open.pem', ed.privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o644);
    expect(dkimReport({ mail: { from: 'info@mail.example.jp', dkim: cfg('open.pem') } }, dir).join('\n')).toMatch(/can be read by other users[^\n]*chmod 600/);
  });
});

describe.each(['rsa.pem', 'ed.pem'])('DKIM signatures (%s), verified by mailauth', (file) => {
  const dkim: DkimConfig = { domain: 'example.jp', selector: 'fw1', privateKeyFile: file };
  const key = loadDkimKey(dkim, dir);
  const sign = dkimSigner(dkim, key);
  const algo = key.algorithm === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256';

  it('a built message passes; a changed body, subject or List-Unsubscribe does not', async () => {
    const signed = await sign(await buildMessage(mail()));
    expect(await verify(signed, dkim, key)).toEqual([{ result: 'pass', algo, domain: 'example.jp' }]);
    const text = signed.toString('latin1');
    const head = text.slice(0, text.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^DKIM-Signature: v=1; a=[^;]+; c=relaxed\/relaxed; d=example\.jp;/);
    expect(head).toMatch(/h=from:reply-to:|h=from:subject/);
    for (const part of ['list-unsubscribe', 'list-unsubscribe-post', 'auto-submitted', 'subject', 'from', 'to']) {
      expect(/ h=([^;]+);/.exec(head.replace(/\r\n /g, ' '))![1]!.split(':')).toContain(part);
    }
    const tampered = [
      text.replace('\r\n\r\n', '\r\n\r\nX'), // one more byte of body
      text.replace(/^To: .*$/m, 'To: victim@example.net'),
      text.replace(/^List-Unsubscribe: .*$/m, 'List-Unsubscribe: <https://evil.example/u>'),
      text.replace(/^Subject: .*$/m, 'Subject: =?UTF-8?B?44GC?='),
    ];
    for (const t of tampered) {
      expect(t).not.toBe(text);
      expect((await verify(Buffer.from(t, 'latin1'), dkim, key))[0]!.result).not.toBe('pass');
    }
  });

  it('property: any subject and body verifies; flipping any byte of the body breaks it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 600 }),
        fc.nat(),
        async (subject, body, at) => {
          const signed = await sign(await buildMessage(mail({ subject, body })));
          expect((await verify(signed, dkim, key))[0]?.result).toBe('pass');
          const start = signed.indexOf('\r\n\r\n') + 4;
          // A visible character (not whitespace, which relaxed canonicalization may fold).
          const visible = [...signed.subarray(start).keys()].filter((i) => signed[start + i]! > 0x20 && signed[start + i]! < 0x7f);
          fc.pre(visible.length > 0);
          const copy = Buffer.from(signed);
          const i = start + visible[at % visible.length]!;
          copy[i] = copy[i] === 0x41 ? 0x42 : 0x41;
          expect((await verify(copy, dkim, key))[0]?.result).not.toBe('pass');
        },
      ),
      { numRuns: 40 },
    );
  });
});
