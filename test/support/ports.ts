// Ports for test servers that are stopped and started again on the same port (an SMTP sink that is
// "down" for a while, a private Redis, PostgreSQL or Dovecot restarted). A port the OS hands out
// (listen(0)) lies in the ephemeral range, from which every outgoing connection on the machine takes
// its source port: while the server is down another process (or the client retrying, connecting to
// itself) may take it, and the restart fails with EADDRINUSE. These ports are drawn below (or above)
// that range, where the OS never assigns one by itself; a port another test holds is skipped.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo! > 0 && hi! >= lo!) return [lo!, hi!];
  } catch {
    // not Linux: the IANA range, which macOS and Windows use
  }
  return [49152, 65535];
}

/** The ports to draw from: at least 1,000 outside the ephemeral range and above 10,000. */
function window(): [number, number] | null {
  const [lo, hi] = ephemeralRange();
  if (lo - 1 - 10_000 >= 1000) return [10_000, lo - 1];
  if (65535 - (hi + 1) >= 1000) return [hi + 1, 65535];
  return null;
}

function tryListen(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = () => resolve(false);
    server.once('error', onError);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.off('error', onError);
      resolve(true);
    });
  });
}

/**
 * Starts listening on a port outside the ephemeral range (`listen` binds `server` to 127.0.0.1:port and
 * resolves false if the port is taken); falls back to an OS-chosen port where there is no such range.
 */
export async function listenOnStablePort(listen: (port: number) => Promise<boolean>): Promise<number> {
  const w = window();
  if (!w) {
    if (await listen(0)) return 0;
    throw new Error('cannot listen on any port');
  }
  for (let i = 0; i < 200; i++) {
    const port = randomInt(w[0], w[1] + 1);
    if (await listen(port)) return port;
  }
  throw new Error(`no free port in ${w[0]}-${w[1]} after 200 tries`);
}

/** A free port outside the ephemeral range, for a server started by another process (probed, then released). */
export async function stablePort(): Promise<number> {
  let found = 0;
  await listenOnStablePort(async (port) => {
    const s = createServer();
    if (!(await tryListen(s, port))) return false;
    found = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    return true;
  });
  return found;
}
