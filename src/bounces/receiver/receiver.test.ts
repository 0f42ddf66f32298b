// The bounce receiver's refusals, over real SMTP: recipients that are not a valid VERP address of the
// configured domain (550 5.1.1), more than one recipient (452), oversize messages (552), and clients
// that send too much (450 on MAIL FROM, then 421 on connect).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { postfixDsn } from '../../../test/support/dsn.js';
import { newId } from '../../util/id.js';
import { Verp } from '../verp.js';
import { BounceReceiver } from './index.js';

const verp = new Verp({ domain: 'bounce.example.jp', prefix: 'bounce', key: 'test-key' });

type Got = { raw: Buffer; outboxId: string; remoteAddress: string };

async function startReceiver(opts: { maxBytes?: number; perClientPerMinute?: number } = {}) {
  const got: Got[] = [];
  const r = new BounceReceiver({
    host: '127.0.0.1',
    port: 0,
    maxBytes: opts.maxBytes ?? 100_000,
    perClientPerMinute: opts.perClientPerMinute ?? 100,
    verp,
    onMessage: async (m) => {
      got.push(m);
    },
  });
  const { port } = await r.start();
  return { r, got, port };
}

function client(port: number, pool = false) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool, maxConnections: 1 });
}

type SmtpErr = { responseCode?: number; response?: string; command?: string };
async function refusal(p: Promise<unknown>): Promise<SmtpErr> {
  try {
    await p;
  } catch (e) {
    return e as SmtpErr;
  }
  throw new Error('expected the receiver to refuse');
}

describe('the bounce receiver', () => {
  let stop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  it('takes a bounce for a valid VERP address from the null sender and hands over its outbox id', async () => {
    const { r, got, port } = await startReceiver();
    stop = () => r.close();
    const id = newId('m');
    const c = client(port);
    const info = await c.sendMail({ envelope: { from: '', to: [verp.address(id)!.toUpperCase()] }, raw: postfixDsn(1) });
    c.close();
    expect(info.response).toMatch(/^250 /);
    expect(got).toHaveLength(1);
    expect(got[0]!.outboxId).toBe(id);
    expect(got[0]!.raw.toString()).toContain('Status: 5.1.1');
  });

  it('refuses recipients that are not a valid VERP address, and a second recipient', async () => {
    const { r, got, port } = await startReceiver();
    stop = () => r.close();
    const good = verp.address(newId('m'))!;
    const [local, domain] = good.split('@') as [string, string];
    const tampered = `${local.slice(0, -1)}${local.endsWith('a') ? 'b' : 'a'}@${domain}`;
    const otherKey = new Verp({ domain: 'bounce.example.jp', prefix: 'bounce', key: 'another' }).address(newId('m'))!;
    const c = client(port);
    for (const to of ['postmaster@bounce.example.jp', 'bounce@bounce.example.jp', tampered, otherKey, `${local}@example.jp`, 'someone@elsewhere.example']) {
      const e = await refusal(c.sendMail({ envelope: { from: '', to: [to] }, raw: postfixDsn(2) }));
      expect(e.responseCode, to).toBe(550);
      expect(e.response).toContain('5.1.1');
    }
    const two = await c.sendMail({ envelope: { from: '', to: [good, verp.address(newId('m'))!] }, raw: postfixDsn(3) });
    c.close();
    expect(two.accepted).toEqual([good]);
    expect(String((two as unknown as { rejectedErrors: SmtpErr[] }).rejectedErrors[0]?.response)).toMatch(/^452 4\.5\.3/);
    expect(got.map((g) => g.outboxId)).toEqual([verp.verify(good)]);
  });

  it('refuses a message over maxBytes with 552 and records nothing', async () => {
    const { r, got, port } = await startReceiver({ maxBytes: 20_000 });
    stop = () => r.close();
    const c = client(port);
    const big = `${postfixDsn(4)}\r\n${'x'.repeat(76)}\r\n`.repeat(300);
    const e = await refusal(c.sendMail({ envelope: { from: '', to: [verp.address(newId('m'))!] }, raw: big }));
    // Declared up front (SIZE=) or found while reading DATA: both are 552.
    expect(e.responseCode).toBe(552);
    const small = await c.sendMail({ envelope: { from: '', to: [verp.address(newId('m'))!] }, raw: postfixDsn(5) });
    c.close();
    expect(small.response).toMatch(/^250 /);
    expect(got).toHaveLength(1);
  });

  it('limits messages per client IP: 450 on MAIL FROM, then 421 on connect', async () => {
    const { r, got, port } = await startReceiver({ perClientPerMinute: 2 });
    stop = () => r.close();
    const c = client(port, true);
    for (let i = 0; i < 2; i++) await c.sendMail({ envelope: { from: '', to: [verp.address(newId('m'))!] }, raw: postfixDsn(6 + i) });
    const e = await refusal(c.sendMail({ envelope: { from: '', to: [verp.address(newId('m'))!] }, raw: postfixDsn(8) }));
    c.close();
    expect(e.responseCode).toBe(450);
    const c2 = client(port);
    const e2 = await refusal(c2.sendMail({ envelope: { from: '', to: [verp.address(newId('m'))!] }, raw: postfixDsn(9) }));
    c2.close();
    expect(e2.responseCode).toBe(421);
    expect(got).toHaveLength(2);
  });

  it('asks the sender to retry (451) when the bounce cannot be recorded', async () => {
    const r = new BounceReceiver({
      host: '127.0.0.1',
      port: 0,
      maxBytes: 100_000,
      perClientPerMinute: 10,
      verp,
      onMessage: async () => {
        throw new Error('database is down');
      },
    });
    const { port } = await r.start();
    stop = () => r.close();
    const c = client(port);
    const e = await refusal(c.sendMail({ envelope: { from: '', to: [verp.address(newId('m'))!] }, raw: postfixDsn(10) }));
    c.close();
    expect(e.responseCode).toBe(451);
  });

  const noOpenssl = spawnSync('openssl', ['version']).status !== 0;
  it.skipIf(noOpenssl)('offers STARTTLS only when a certificate is configured', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fw-rx-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=bounce.example.jp', '-days', '1'], { stdio: 'ignore' });
    const plain = await startReceiver();
    const tls = new BounceReceiver({ host: '127.0.0.1', port: 0, maxBytes: 100_000, perClientPerMinute: 10, verp, tls: { key, cert }, onMessage: async () => {} });
    const { port } = await tls.start();
    stop = async () => {
      await plain.r.close();
      await tls.close();
      rmSync(dir, { recursive: true, force: true });
    };
    const send = (p: number) => {
      const c = nodemailer.createTransport({ host: '127.0.0.1', port: p, secure: false, requireTLS: true, tls: { rejectUnauthorized: false } });
      return c.sendMail({ envelope: { from: '', to: [verp.address(newId('m'))!] }, raw: postfixDsn(11) }).finally(() => c.close());
    };
    expect((await send(port)).response).toMatch(/^250 /);
    const e = await refusal(send(plain.port));
    expect(String((e as { message?: string }).message ?? e)).toMatch(/STARTTLS/i);
  });
});
