// The bounce parser's worker thread (see pool.ts): parses one message at a time, off the server's event loop.
import { parentPort } from 'node:worker_threads';
import { parseBounce } from './index.js';
import type { ParseOptions } from './types.js';

export interface WorkerJob { id: number; raw: Uint8Array; opts: ParseOptions }
export type WorkerReply = { ready: true } | { id: number; result: ReturnType<typeof parseBounce> };

const port = parentPort;
if (port) {
  port.on('message', (job: WorkerJob) => {
    const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    port.postMessage({ id: job.id, result: parseBounce(raw, job.opts) } satisfies WorkerReply);
  });
  port.postMessage({ ready: true } satisfies WorkerReply);
}
