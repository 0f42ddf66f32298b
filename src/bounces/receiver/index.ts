// The SMTP receiver for the VERP bounce domain. Receiving MTAs deliver bounces straight to it (the bounce
// domain's MX points here): RCPT TO is accepted only for a valid VERP address (550 5.1.1 otherwise), one
// per message; messages over maxBytes get 552; each client IP may start perClientPerMinute messages a
// minute (then 450 on MAIL, 421 on connect). No AUTH; STARTTLS only when a certificate is configured.
// The message is handed over with the outbox id its VERP address names; what the handler made of it
// (a counted signal, or ignored: not a report, already counted) is logged, and the sender gets 250
// either way, so a forger learns nothing from the answer.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { SMTPServer, SMTPServerOptions } from 'smtp-server';
import type { Verp } from '../verp.js';

export interface ReceiverOptions {
  host: string;
  port: number;
  maxBytes: number;
  perClientPerMinute: number;
  tls?: { key: string; cert: string };
  verp: Verp;
  /** Acts on one received message; a throw answers 451 so the sender tries again later. */
  onMessage: (m: { raw: Buffer; outboxId: string; remoteAddress: string }) => Promise<void | ReceivedOutcome>;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Server name in the greeting (default: the VERP domain). */
  name?: string;
}

/** What a received message counted for: signals recorded, and why the rest counted nothing. */
export interface ReceivedOutcome {
  counted: number;
  ignored: string[];
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

export class BounceReceiver {
  private server: SMTPServer | null = null;
  private readonly limiter: RateLimiterMemory;

  constructor(private readonly opts: ReceiverOptions) {
    this.limiter = new RateLimiterMemory({ points: opts.perClientPerMinute, duration: 60 });
  }

  /** Starts listening; returns host:port. */
  async start(): Promise<{ host: string; port: number }> {
    const { opts } = this;
    const tls = opts.tls ? { key: readFileSync(opts.tls.key), cert: readFileSync(opts.tls.cert) } : null;
    const options: SMTPServerOptions = {
      name: opts.name ?? opts.verp.domain,
      banner: 'Formwarden bounce receiver',
      authOptional: true,
      disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      ...(tls ?? {}),
      size: opts.maxBytes,
      rejectOversized: true,
      maxClients: 100,
      closeTimeout: 5000,
      logger: false,
      onConnect: (session, cb) => {
        this.limiter
          .get(session.remoteAddress)
          .then((r) => (r && r.remainingPoints <= 0 ? cb(smtpError(421, '4.7.0 Too many messages from your address, try again later')) : cb()))
          .catch(() => cb());
      },
      onMailFrom: (_address, session, cb) => {
        this.limiter
          .consume(session.remoteAddress)
          .then(() => cb())
          .catch(() => cb(smtpError(450, '4.7.1 Too many messages from your address, try again later')));
      },
      onRcptTo: (address, session, cb) => {
        if (!opts.verp.verify(address.address)) return cb(smtpError(550, '5.1.1 No such recipient here'));
        if (session.envelope.rcptTo.length > 0) return cb(smtpError(452, '4.5.3 One recipient per message, please send the rest separately'));
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= opts.maxBytes) chunks.push(c);
        });
        stream.on('error', (e) => cb(e));
        stream.on('end', () => {
          // rejectOversized answers 552 itself.
          if (stream.sizeExceeded) return cb(smtpError(552, '5.3.4 Message too big'));
          const rcpt = session.envelope.rcptTo[0]?.address ?? '';
          const outboxId = opts.verp.verify(rcpt);
          if (!outboxId) return cb(smtpError(550, '5.1.1 No such recipient here'));
          const remoteAddress = session.remoteAddress;
          opts
            .onMessage({ raw: Buffer.concat(chunks), outboxId, remoteAddress })
            .then((outcome) => {
              if (outcome && outcome.counted === 0 && outcome.ignored.length) {
                opts.log?.warn({ outbox: outboxId, client: remoteAddress, bytes: size, ignored: outcome.ignored }, 'message to a VERP address ignored: it counts as no bounce');
              } else {
                opts.log?.info({ outbox: outboxId, client: remoteAddress, bytes: size, ...(outcome ? { counted: outcome.counted } : {}) }, 'bounce received over SMTP');
              }
              cb(null, 'Bounce received');
            })
            .catch((e: unknown) => {
              opts.log?.warn({ outbox: outboxId, client: remoteAddress, err: String(e) }, 'bounce receiver: could not record a bounce; asked the sender to retry');
              cb(smtpError(451, '4.3.0 Temporary failure, try again later'));
            });
        });
      },
    };
    // smtp-server is loaded here, on start: an instance without a receiver never pays for it.
    const { SMTPServer } = await import('smtp-server');
    const server = new SMTPServer(options);
    server.on('error', (e) => opts.log?.warn({ err: String(e) }, 'bounce receiver: connection error'));
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return this.address()!;
  }

  address(): { host: string; port: number } | null {
    const a = this.server?.server.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : null;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
