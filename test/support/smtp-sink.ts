// A real SMTP server (smtp-server) on loopback that records what it receives. Its behaviour can be
// switched: accept, answer 4xx, answer 5xx, hang, hold (answer only on release()), or be down (not listening).
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { listenOnStablePort } from './ports.js';

export type SinkMode = 'accept' | 'tempfail' | 'permfail' | 'hang' | 'hold';

export interface ReceivedMail {
  envelopeFrom: string;
  envelopeTo: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

export class SmtpSink {
  readonly received: ReceivedMail[] = [];
  mode: SinkMode = 'accept';
  /** Called for each accepted mail, after it is recorded. */
  onMail: ((m: ReceivedMail) => void) | null = null;
  private server: SMTPServer | null = null;
  port = 0;

  async start(port = 0): Promise<number> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          if (this.mode === 'hang') return; // never answer
          if (this.mode === 'hold') {
            this.held.push(() =>
              this.record(session, Buffer.concat(chunks)).then((mail) => {
                cb();
                this.onMail?.(mail);
              }),
            );
            return;
          }
          if (this.mode === 'tempfail') return cb(Object.assign(new Error('Try again later'), { responseCode: 451 }));
          if (this.mode === 'permfail') return cb(Object.assign(new Error('No such user'), { responseCode: 550 }));
          const mail = await this.record(session, Buffer.concat(chunks));
          cb();
          this.onMail?.(mail);
        });
      },
    });
    server.on('error', () => {});
    // Resolves false when the port is taken.
    const listen = (p: number) =>
      new Promise<boolean>((resolve, reject) => {
        const onError = (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(false) : reject(e));
        server.server.once('error', onError);
        server.listen(p, '127.0.0.1', () => {
          server.server.off('error', onError);
          resolve(true);
        });
      });
    // A new sink takes a port outside the ephemeral range, so that stop() and start(port) (the server
    // "down" for a while) cannot lose it to another connection meanwhile (see ports.ts).
    if (port === 0) await listenOnStablePort(listen);
    else if (!(await listen(port))) throw new Error(`SMTP sink: port ${port} is taken`);
    this.server = server;
    this.port = (server.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Mails whose DATA is received but not yet answered (mode 'hold'). */
  readonly held: (() => Promise<void>)[] = [];

  /** Accepts every held mail. */
  async release(): Promise<void> {
    await Promise.all(this.held.splice(0).map((accept) => accept()));
  }

  private async record(session: SMTPServerSession, raw: Buffer): Promise<ReceivedMail> {
    const mail: ReceivedMail = {
      envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      envelopeTo: session.envelope.rcptTo.map((r) => r.address),
      raw,
      parsed: await simpleParser(raw),
    };
    this.received.push(mail);
    return mail;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  to(address: string): ReceivedMail[] {
    return this.received.filter((m) => m.envelopeTo.includes(address));
  }

  /**
   * Mails of one kind (X-Formwarden-Kind: notify, autoreply, alert, digest) to `address`. A running
   * instance's housekeeping may mail the owner an alert or a digest at any moment: count notifications
   * with this, not with to(owner).
   */
  toKind(address: string, kind: string): ReceivedMail[] {
    return this.to(address).filter((m) => m.parsed.headers.get('x-formwarden-kind') === kind);
  }
}
