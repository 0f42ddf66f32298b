// A child for src/util/heap.test.ts: keeps ~10 MB of objects alive and churns through garbage that lives
// long enough to be promoted (a ring of recent "requests", as an intake under load has), then prints the
// largest heap it saw. With `lean` it runs leanHeap() first. It yields to the event loop every 5,000 objects
// (under 1 MB), as a server does between requests: leanHeap's GC observer runs there.
import { setImmediate as turn } from 'node:timers/promises';
import v8 from 'node:v8';
import { leanHeap } from '../../src/util/heap.js';

const lean = process.argv[2] === 'lean' ? leanHeap() : null;
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
let peakTotal = 0;
let peakYoung = 0;
let cappedSeen = false;
async function step(n: number): Promise<void> {
  if (n % 5_000 !== 0) return;
  peakTotal = Math.max(peakTotal, process.memoryUsage().heapTotal);
  peakYoung = Math.max(peakYoung, young());
  cappedSeen ||= lean?.capped ?? false;
  await turn();
}
const live: unknown[] = [];
for (let i = 0; i < 100_000; i++) {
  live.push({ i, s: `live-${i}` });
  await step(i);
}
const ring: unknown[] = new Array(200_000);
for (let n = 0; n < 3_000_000; n++) {
  ring[n % ring.length] = { n, text: `request ${n} `.repeat(4), parts: [n, n + 1, n + 2] };
  await step(n);
}
lean?.stop();
process.stdout.write(`${JSON.stringify({ peakTotalMb: peakTotal / 1048576, peakYoungMb: peakYoung / 1048576, cappedSeen, live: live.length })}\n`);
