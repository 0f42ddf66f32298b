// The soak (issue #14 item 3): the full accept path at a steady rate for 10 minutes (the bench server of
// bench/intake.ts: a real Formwarden on SQLite, worker running), the server's JS heap sampled after a full
// GC once a minute. Goal: no memory growth, every sample within 10% of the smallest; every answer a 201;
// every 201 stored. Prints the table; writes nothing.
//   npm run bench:soak                         10 minutes at 300 posts/s
//   npm run bench:soak -- --minutes 2 --rate 200 --tsx
import os from 'node:os';
import autocannon from 'autocannon';
import { buildServers } from './lib/build.js';
import { CONTACT_PATH, URLENCODED, contactBodies } from './lib/forms.js';
import { setRuntime, startServer } from './lib/server.js';
import { round } from './lib/stats.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : d;
};
const minutes = arg('--minutes', 10);
const rate = arg('--rate', 300);
const connections = 10;
const FLAT = 0.1;

if (process.argv.includes('--tsx')) setRuntime('tsx');
else {
  await buildServers((m) => console.log(m));
  setRuntime('compiled');
}
const load0 = os.loadavg();
const server = await startServer('formwarden', 'formwarden.ts');
const bodies = contactBodies(16);
const samples: { minute: number; heapUsedMb: number; rssMb: number; posts: number; ok: number; p99: number }[] = [];
let other = 0;
try {
  // One minute of load per step: autocannon's overallRate keeps the rate steady across connections.
  for (let m = 1; m <= minutes; m++) {
    // overallRate is autocannon's (documented; missing from its type declarations).
    const r = await autocannon({
      url: server.url,
      connections,
      duration: 60,
      overallRate: rate,
      timeout: 10,
      requests: bodies.map((body) => ({ method: 'POST' as const, path: CONTACT_PATH, headers: URLENCODED, body })),
    } as autocannon.Options);
    const ok = r.statusCodeStats?.['201']?.count ?? 0;
    const all = Object.values(r.statusCodeStats ?? {}).reduce((a, s) => a + s.count, 0);
    other += all - ok + r.errors;
    const s = await server.stats({ gc: true });
    samples.push({ minute: m, heapUsedMb: s.heapUsedMb ?? Number.NaN, rssMb: s.rssMb ?? Number.NaN, posts: all, ok, p99: r.latency.p99 });
    console.log(`minute ${m}: ${ok} × 201 (${round(ok / 60)}/s), p99 ${r.latency.p99} ms, heap after GC ${s.heapUsedMb} MB, RSS ${s.rssMb} MB, stored ${s.submissions}, outbox pending ${s.pending}`);
  }
  const end = await server.stats({ gc: true });
  const heaps = samples.map((s) => s.heapUsedMb);
  const spread = (Math.max(...heaps) - Math.min(...heaps)) / Math.min(...heaps);
  const answered201 = samples.reduce((a, s) => a + s.ok, 0);
  console.log('\n| Minute | 201s | p99 ms | JS heap after GC (MB) | RSS (MB) |\n|---|---:|---:|---:|---:|');
  for (const s of samples) console.log(`| ${s.minute} | ${s.ok} | ${s.p99} | ${s.heapUsedMb} | ${s.rssMb} |`);
  console.log(`\nSoak: ${minutes} min at ${rate} posts/s, ${connections} connections; peak RSS (VmHWM) ${round(server.memory()?.peakRssMb ?? Number.NaN, 1)} MB.`);
  console.log(`Heap after GC: ${Math.min(...heaps)}–${Math.max(...heaps)} MB, spread ${round(spread * 100, 1)}% (goal ≤ ${FLAT * 100}%): ${spread <= FLAT ? 'pass' : 'FAIL'}.`);
  console.log(`Answers other than 201 (incl. socket errors): ${other}; 201s ${answered201}; stored ${end.submissions} (≥ 201s: ${(end.submissions ?? 0) >= answered201 ? 'pass' : 'FAIL'}).`);
  console.log(`Load average ${load0.map((l) => l.toFixed(2)).join(' / ')} at start, ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')} at end (${os.cpus().length} cores).`);
  if (spread > FLAT || other > 0 || (end.submissions ?? 0) < answered201) process.exitCode = 1;
} finally {
  await server.stop();
}
