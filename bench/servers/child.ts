// Shared plumbing for the server entry scripts: announce the URL on stdout, answer the parent's
// stats requests over IPC, and shut down cleanly on SIGTERM/SIGINT or when the parent goes away.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface StartedServer {
  url: string;
  close(): Promise<void>;
  /** Extra figures the parent may ask for between rounds (e.g. the outbox backlog). */
  stats?(): Promise<Record<string, number>>;
}

export const LISTENING_PREFIX = 'BENCH_LISTENING ';

/** runServer for a server that keeps its files in a temporary folder of its own, removed when it closes or fails to start. */
export async function runServerInTempDir(prefix: string, start: (dir: string) => Promise<StartedServer>): Promise<void> {
  await runServer(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    const cleanup = () => rmSync(dir, { recursive: true, force: true });
    try {
      const server = await start(dir);
      return {
        ...server,
        async close() {
          try {
            await server.close();
          } finally {
            cleanup();
          }
        },
      };
    } catch (e) {
      cleanup();
      throw e;
    }
  });
}

export async function runServer(start: () => Promise<StartedServer>): Promise<void> {
  let server: StartedServer | null = null;
  let closing = false;
  const shutdown = async (code: number) => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(code), 10_000);
    force.unref();
    try {
      await server?.close();
    } catch (e) {
      console.error(e);
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
  process.on('disconnect', () => void shutdown(0));
  process.on('message', (msg: unknown) => {
    const m = msg as { type?: string; id?: number; gc?: boolean };
    if (m?.type !== 'stats') return;
    const reply = (stats: Record<string, number>) => {
      // With { gc: true } (and node --expose-gc): what stays after a full collection.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (m.gc && gc) gc();
      const mem = process.memoryUsage();
      const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
      process.send?.({
        type: 'stats',
        id: m.id,
        stats: { ...stats, rssMb: mb(mem.rss), heapUsedMb: mb(mem.heapUsed), heapTotalMb: mb(mem.heapTotal), externalMb: mb(mem.external), gcRan: m.gc && gc ? 1 : 0 },
      });
    };
    (server?.stats?.() ?? Promise.resolve({})).then(reply, (e: unknown) => {
      console.error(e);
      reply({});
    });
  });
  try {
    server = await start();
  } catch (e) {
    console.error(e);
    await shutdown(1);
    return;
  }
  process.stdout.write(`${LISTENING_PREFIX}${server.url}\n`);
}
