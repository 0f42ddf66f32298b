// Solving the proof-of-work in worker threads: on the main thread every PBKDF2 round waits for an
// event-loop turn, so a naive-bot flood from the same process starves the solvers.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Challenge } from 'altcha-lib';
import { altchaPayload } from '../../src/client/protocol.js';

// Plain CommonJS, so the worker needs no TypeScript loader (tsx, vitest).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { solveChallenge } = require(workerData.lib);
const pbkdf2 = require(workerData.pbkdf2).deriveKey;
const sha = require(workerData.sha).deriveKey;
parentPort.on('message', async ({ id, challenge }) => {
  try {
    const deriveKey = String(challenge.parameters.algorithm ?? '').startsWith('PBKDF2') ? pbkdf2 : sha;
    parentPort.postMessage({ id, solution: (await solveChallenge({ challenge, deriveKey })) ?? null });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e) });
  }
});
`;

export class PowPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { challenge: Challenge; resolve: (p: string | null) => void; reject: (e: Error) => void }>();
  private next = 0;

  constructor(size = 2) {
    const req = createRequire(import.meta.url);
    const workerData = { lib: req.resolve('altcha-lib'), pbkdf2: req.resolve('altcha-lib/algorithms/pbkdf2'), sha: req.resolve('altcha-lib/algorithms/sha') };
    for (let i = 0; i < size; i++) {
      const w = new Worker(WORKER, { eval: true, workerData });
      w.on('message', (m: { id: number; solution?: unknown; error?: string }) => {
        const job = this.waiting.get(m.id);
        if (!job) return;
        this.waiting.delete(m.id);
        if (m.error) job.reject(new Error(m.error));
        else job.resolve(m.solution ? altchaPayload(job.challenge, m.solution) : null);
      });
      w.unref();
      this.workers.push(w);
    }
  }

  solve = (challenge: Challenge): Promise<string | null> =>
    new Promise((resolve, reject) => {
      const id = this.next++;
      this.waiting.set(id, { challenge, resolve, reject });
      this.workers[id % this.workers.length]!.postMessage({ id, challenge });
    });

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
