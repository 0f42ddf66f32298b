// A transport delivers one built message to one recipient. SMTP goes through nodemailer's pool;
// "capture" delivers nowhere: the outbox row keeps the raw message (npx formwarden mail list).
import nodemailer from 'nodemailer';

export interface Envelope {
  from: string;
  to: string;
}

export type SendResult =
  | { ok: true; response: string }
  | { ok: false; permanent: boolean; error: string };

export interface Transport {
  readonly name: 'capture' | 'smtp';
  send(envelope: Envelope, raw: Buffer): Promise<SendResult>;
  close(): void;
}

export const captureTransport: Transport = {
  name: 'capture',
  async send() {
    return { ok: true, response: 'captured' };
  },
  close() {},
};

export interface SmtpOptions {
  url: string;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
  maxConnections: number;
}

export function smtpTransport(opts: SmtpOptions): Transport {
  const url = new URL(opts.url);
  const transporter = nodemailer.createTransport({
    pool: true,
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 25),
    secure: url.protocol === 'smtps:',
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    maxConnections: opts.maxConnections,
    connectionTimeout: opts.connectionTimeoutMs,
    greetingTimeout: opts.greetingTimeoutMs,
    socketTimeout: opts.socketTimeoutMs,
    // Loopback and LAN relays often have no certificate; STARTTLS is still used when offered.
    tls: { rejectUnauthorized: url.searchParams.get('tls') === 'strict' },
  });
  return {
    name: 'smtp',
    async send(envelope, raw) {
      try {
        const info = await transporter.sendMail({ envelope: { from: envelope.from, to: [envelope.to] }, raw });
        return { ok: true, response: String(info.response ?? '') };
      } catch (e) {
        const err = e as { responseCode?: number; code?: string; message?: string };
        const code = err.responseCode;
        // 5xx is final; 4xx, timeouts and connection problems are worth another try.
        const permanent = typeof code === 'number' && code >= 500 && code < 600;
        return { ok: false, permanent, error: `${err.code ?? 'E_SMTP'}${code ? ` ${code}` : ''}: ${String(err.message ?? e).slice(0, 500)}` };
      }
    },
    close() {
      transporter.close();
    },
  };
}

export function createTransport(spec: string, timeouts: { connect: number; greeting: number; socket: number }, maxConnections: number): Transport {
  if (spec === 'capture') return captureTransport;
  return smtpTransport({ url: spec, connectionTimeoutMs: timeouts.connect, greetingTimeoutMs: timeouts.greeting, socketTimeoutMs: timeouts.socket, maxConnections });
}
