// DKIM (mail.dkim): every outgoing message is signed right after it is built, so what the capture
// transport stores is byte for byte what SMTP sends. Canonicalization is nodemailer's (message parser,
// relaxed body hash, relaxed headers); an RSA signature is nodemailer's own signer, and Ed25519 (RFC 8463),
// which nodemailer does not sign, is the same header signed with crypto.sign over its SHA-256 hash.
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import MessageParser, { type MessageParserHeaderLine } from 'nodemailer/lib/dkim/message-parser.js';
import RelaxedBody from 'nodemailer/lib/dkim/relaxed-body.js';
import nodemailerSign from 'nodemailer/lib/dkim/sign.js';
import { foldLines } from 'nodemailer/lib/mime-funcs/index.js';

export interface DkimConfig {
  domain: string;
  selector: string;
  privateKeyFile: string;
}

export interface DkimKey {
  algorithm: 'rsa' | 'ed25519';
  privateKey: KeyObject;
  /** RSA modulus length. */
  bits?: number;
  /** The p= value of the DNS record (RSA: SubjectPublicKeyInfo; Ed25519: the raw 32-byte key, RFC 8463). */
  publicKey: string;
  /** The key file, resolved. */
  file: string;
  /** The file can be read by other users of the machine (mode & 0o077). */
  readableByOthers: boolean;
}

/**
 * Signed header fields: nodemailer's default list (RFC 6376 5.4 and List-Unsubscribe-Post for RFC 8058)
 * plus Auto-Submitted, so a relay cannot turn an auto-reply into something that looks personal.
 */
export const SIGNED_HEADERS =
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:' +
  'Content-ID:Content-Description:Resent-Date:Resent-From:Resent-Sender:Resent-To:Resent-Cc:Resent-Message-ID:' +
  'In-Reply-To:References:List-Id:List-Help:List-Unsubscribe:List-Unsubscribe-Post:List-Subscribe:List-Post:' +
  'List-Owner:List-Archive:Auto-Submitted';

export class DkimKeyError extends Error {
  override name = 'DkimKeyError';
}

export function resolveKeyFile(dkim: DkimConfig, baseDir: string): string {
  return path.resolve(baseDir, dkim.privateKeyFile);
}

/** Reads and checks the key: a PEM private key, RSA of at least 1024 bits or Ed25519, not encrypted. */
export function loadDkimKey(dkim: DkimConfig, baseDir: string): DkimKey {
  const file = resolveKeyFile(dkim, baseDir);
  const where = `mail.dkim.privateKeyFile (${file})`;
  let text: string;
  let mode = 0;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read by this user' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code ?? String(e)})`;
    throw new DkimKeyError(`${where} ${why}. Fix: point privateKeyFile at the PEM private key (a relative path is taken from the configuration file's folder); docs/dkim.md shows how to make one`);
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/.test(text)) {
    throw new DkimKeyError(`${where} is encrypted with a passphrase. Fix: store it decrypted, readable only by Formwarden (openssl pkey -in encrypted.pem -out dkim.pem; chmod 600 dkim.pem)`);
  }
  if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text) && !/PRIVATE KEY-----/.test(text)) {
    throw new DkimKeyError(`${where} is a public key. Fix: point privateKeyFile at the private key; the public key goes into DNS (npx formwarden check-config prints the record)`);
  }
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(text)) {
    throw new DkimKeyError(`${where} is not a PEM private key (no "-----BEGIN PRIVATE KEY-----" line). Fix: make one with \`openssl genpkey -algorithm ed25519 -out dkim.pem\` or \`openssl genrsa -out dkim.pem 2048\``);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new DkimKeyError(`${where} is not a valid PEM private key (${(e as Error).message}). Fix: check that the whole file was copied, or make a new key (docs/dkim.md)`);
  }
  const type = privateKey.asymmetricKeyType;
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const readableByOthers = (mode & 0o077) !== 0;
  if (type === 'rsa') {
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 1024) {
      throw new DkimKeyError(`${where} is an RSA key of ${bits} bits; receivers ignore DKIM keys under 1024 bits (RFC 8301). Fix: make a 2048-bit key (openssl genrsa -out dkim.pem 2048)`);
    }
    return { algorithm: 'rsa', privateKey, bits, publicKey: spki.toString('base64'), file, readableByOthers };
  }
  if (type === 'ed25519') {
    // The SPKI of an Ed25519 key is a 12-byte prefix and the 32-byte key; DNS carries the key alone.
    return { algorithm: 'ed25519', privateKey, publicKey: spki.subarray(spki.length - 32).toString('base64'), file, readableByOthers };
  }
  throw new DkimKeyError(`${where} is a ${type ?? 'unknown'} key; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256). Fix: make an RSA or Ed25519 key (docs/dkim.md)`);
}

/** The problem with the configured key, or null (for the configuration loader). */
export function dkimKeyProblem(dkim: DkimConfig | undefined, baseDir: string): string | null {
  if (!dkim) return null;
  try {
    loadDkimKey(dkim, baseDir);
    return null;
  } catch (e) {
    if (e instanceof DkimKeyError) return e.message;
    throw e;
  }
}

/** The TXT record to publish, as a zone-file line (long values are split into 255-character strings). */
export function dkimDnsRecord(dkim: DkimConfig, key: DkimKey): { name: string; value: string; zoneLine: string } {
  const name = `${dkim.selector}._domainkey.${dkim.domain}`;
  const value = `v=DKIM1; k=${key.algorithm}; p=${key.publicKey}`;
  const chunks = value.match(/.{1,255}/g) ?? [value];
  const quoted = chunks.map((c) => `"${c}"`);
  const zoneLine = `${name}. IN TXT ${quoted.length > 1 ? `( ${quoted.join(' ')} )` : quoted[0]}`;
  return { name, value, zoneLine };
}

interface Canonical {
  headers: MessageParserHeaderLine[];
  bodyHash: string;
}

/** nodemailer's parser and relaxed body hash over the built message. */
async function canonicalize(raw: Buffer): Promise<Canonical> {
  const parser = new MessageParser();
  const body = new RelaxedBody({ hashAlgo: 'sha256' });
  let headers: MessageParserHeaderLine[] | null = null;
  let bodyHash: string | null = null;
  parser.on('headers', (h: MessageParserHeaderLine[]) => (headers = h));
  body.on('hash', (h: string) => (bodyHash = h));
  const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
  await pipeline(Readable.from([raw]), parser, body, sink);
  if (!headers || !bodyHash) throw new Error('E_DKIM: the message has no header block');
  return { headers, bodyHash };
}

/** RFC 6376 3.4.2 relaxed header canonicalization of one field's value (as nodemailer does it). */
function relaxedValue(line: string): string {
  return line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

function ed25519Field(dkim: DkimConfig, key: KeyObject, c: Canonical): string {
  const canon = nodemailerSign.relaxedHeaders(c.headers, SIGNED_HEADERS);
  const tags = ['v=1', 'a=ed25519-sha256', 'c=relaxed/relaxed', `d=${dkim.domain}`, 'q=dns/txt', `s=${dkim.selector}`, `bh=${c.bodyHash}`, `h=${canon.fieldNames}`];
  const head = `${foldLines(`DKIM-Signature: ${tags.join('; ')}`, 76)};\r\n b=`;
  const data = `${canon.headers}dkim-signature:${relaxedValue(head)}`;
  // RFC 8463: PureEdDSA over the SHA-256 hash of the canonicalized header data.
  const signature = cryptoSign(null, createHash('sha256').update(data, 'latin1').digest(), key).toString('base64');
  return head + signature.replace(/(^.{73}|.{75}(?!\r?\n|\r))/g, '$&\r\n ').trim();
}

export type Signer = (raw: Buffer) => Promise<Buffer>;

/** A signer for the outbox worker: returns the message with its DKIM-Signature header first. */
export function dkimSigner(dkim: DkimConfig, key: DkimKey): Signer {
  return async (raw) => {
    const c = await canonicalize(raw);
    const field =
      key.algorithm === 'rsa'
        ? nodemailerSign(c.headers, 'sha256', c.bodyHash, { domainName: dkim.domain, keySelector: dkim.selector, privateKey: key.privateKey, headerFieldNames: SIGNED_HEADERS })
        : ed25519Field(dkim, key.privateKey, c);
    // nodemailer answers false when the key cannot sign: never send such a message as if it were signed.
    if (!field) throw new Error('E_DKIM: the DKIM key could not sign the message');
    return Buffer.concat([Buffer.from(`${field}\r\n`, 'latin1'), raw]);
  };
}

/** For the composition root: the signer of mail.dkim, or a clear problem. */
export function openDkim(dkim: DkimConfig, baseDir: string): { ok: true; sign: Signer; key: DkimKey } | { ok: false; problem: string } {
  try {
    const key = loadDkimKey(dkim, baseDir);
    return { ok: true, sign: dkimSigner(dkim, key), key };
  } catch (e) {
    if (e instanceof DkimKeyError) return { ok: false, problem: e.message };
    throw e;
  }
}

/** mail.from's domain and the signing domain share a DMARC (relaxed) alignment: one is the other or under it. */
export function alignsWith(fromAddress: string, dkimDomain: string): boolean {
  const from = (fromAddress.split('@')[1] ?? '').toLowerCase();
  const d = dkimDomain.toLowerCase();
  return from === d || from.endsWith(`.${d}`) || d.endsWith(`.${from}`);
}

/** check-config's DKIM section: the key, the DNS record to publish, and what to look at (en and ja). */
export function dkimReport(config: { mail: { from: string; dkim?: DkimConfig } }, baseDir: string): string[] {
  const dkim = config.mail.dkim;
  if (!dkim) return [];
  const key = loadDkimKey(dkim, baseDir);
  const rec = dkimDnsRecord(dkim, key);
  const kind = key.algorithm === 'rsa' ? `RSA ${key.bits} bits (rsa-sha256)` : 'Ed25519 (ed25519-sha256)';
  const out = [
    `DKIM: every mail is signed with d=${dkim.domain}, s=${dkim.selector}: ${kind}, key ${key.file}`,
    `DKIM: すべてのメールに d=${dkim.domain}, s=${dkim.selector} の署名を付けます（${kind}、鍵 ${key.file}）`,
    'Publish this TXT record in DNS / この TXT レコードを DNS に登録してください:',
    `  ${rec.zoneLine}`,
    `  (name / 名前: ${rec.name}   value / 値: ${rec.value})`,
    `Check / 確認: dig +short TXT ${rec.name}`,
  ];
  const from = /<([^<>]+)>\s*$/.exec(config.mail.from)?.[1] ?? config.mail.from;
  if (!alignsWith(from, dkim.domain)) {
    out.push(
      `warning: mail.dkim.domain ${dkim.domain} is not the domain of mail.from (${from}): DMARC counts only a signature of the From domain (or its parent). Fix: sign with the From domain`,
      `warning: mail.dkim.domain ${dkim.domain} が mail.from（${from}）のドメインと一致しません。DMARC は From のドメイン（またはその親）の署名しか数えません。From のドメインで署名してください`,
    );
  }
  if (key.algorithm === 'rsa' && (key.bits ?? 0) < 2048) {
    out.push(`warning: the RSA key has ${key.bits} bits; 2048 is recommended (RFC 8301) / RSA 鍵が ${key.bits} ビットです。2048 ビットを推奨します`);
  }
  if (key.algorithm === 'ed25519') {
    out.push('note: many receivers do not verify Ed25519 yet and treat the mail as unsigned; an RSA 2048-bit key passes everywhere / Ed25519 をまだ検証しない受信側が多く、その場合は署名なしと同じ扱いです。RSA 2048 ビットならどこでも検証されます');
  }
  if (key.readableByOthers) {
    out.push(`warning: ${key.file} can be read by other users of this machine. Fix: chmod 600 ${key.file} / 鍵ファイルを他のユーザーが読めます。chmod 600 で保護してください`);
  }
  return out;
}
