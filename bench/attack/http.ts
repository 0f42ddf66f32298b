// The simulator's HTTP client: node:http with a keep-alive agent per source address (localAddress,
// so the server sees 127.0.0.2, 127.0.0.3, ... as distinct clients), a fetch-compatible wrapper for
// the reference client (src/client/protocol.ts), and raw sockets for slow bodies.
import http from 'node:http';
import net from 'node:net';

export interface HttpAnswer {
  status: number;
  body: string;
  ms: number;
}

/** Refuses anything but a loopback target: the simulator floods, it must never point elsewhere. */
export function assertLoopback(url: string): URL {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`target ${url}: only http:// on loopback is supported`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const ok = host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
  if (!ok) throw new Error(`target ${url} is not a loopback address: the simulator only attacks 127.0.0.0/8, ::1 or localhost`);
  return u;
}

export class HttpClient {
  private readonly agents = new Map<string, http.Agent>();
  readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = assertLoopback(baseUrl);
  }

  private agent(localAddress: string): http.Agent {
    let a = this.agents.get(localAddress);
    if (!a) {
      a = new http.Agent({ keepAlive: true, maxSockets: 16 });
      this.agents.set(localAddress, a);
    }
    return a;
  }

  request(localAddress: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean } = {}): Promise<HttpAnswer> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port || 80,
          method,
          path,
          localAddress,
          agent: this.agent(localAddress),
          headers: { ...(opts.body !== undefined && !opts.chunked ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
      req.on('error', reject);
      if (opts.chunked && opts.body !== undefined) {
        // Several chunks, so the server cannot know the size up front.
        const b = Buffer.from(opts.body);
        for (let off = 0; off < b.length; off += 16 * 1024) req.write(b.subarray(off, off + 16 * 1024));
        req.end();
      } else req.end(opts.body);
    });
  }

  /** A fetch for the reference client, from one source address. */
  fetchFrom(localAddress: string): typeof fetch {
    return (async (input: string | URL | Request, init?: RequestInit) => {
      const u = new URL(String(input instanceof Request ? input.url : input));
      const headers = Object.fromEntries(Object.entries((init?.headers as Record<string, string> | undefined) ?? {}));
      const a = await this.request(localAddress, init?.method ?? 'GET', `${u.pathname}${u.search}`, { headers, body: init?.body === undefined || init.body === null ? undefined : String(init.body) });
      return new Response(a.status === 204 || a.status === 304 ? null : a.body, { status: a.status, headers: { 'x-attack-ms': a.ms.toFixed(1) } });
    }) as typeof fetch;
  }

  /**
   * A body sent one byte at a time (slowloris on the body). Bounded: gives up after `maxSeconds`.
   * Returns the status the server answered, or 'gave-up' if it was still waiting, or 'closed'.
   */
  slowBody(localAddress: string, path: string, opts: { bytes: number; everyMs: number; maxSeconds: number }): Promise<{ outcome: string; ms: number }> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      const body = Buffer.from(JSON.stringify({ name: 'slow', email: 'slow@victim-slow.example.com', message: 'x'.repeat(Math.max(1, opts.bytes - 70)) }));
      const sock = net.connect({ host: this.base.hostname.replace(/^\[|\]$/g, ''), port: Number(this.base.port || 80), localAddress });
      let sent = 0;
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      const done = (outcome: string) => {
        clearInterval(timer);
        clearTimeout(bound);
        sock.destroy();
        resolve({ outcome, ms: performance.now() - t0 });
      };
      const bound = setTimeout(() => done('gave-up'), opts.maxSeconds * 1000);
      sock.on('connect', () => {
        sock.write(`POST ${path} HTTP/1.1\r\nHost: ${this.base.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
        timer = setInterval(() => {
          if (sent < body.length && sock.writable) sock.write(body.subarray(sent, ++sent));
        }, opts.everyMs);
      });
      sock.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
        if (m) done(m[1]!);
      });
      sock.on('error', () => done('closed'));
      sock.on('close', () => done('closed'));
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
