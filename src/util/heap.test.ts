import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { operatorHeapFlags } from './heap.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The churn child (test/support/heap-churn.ts) in a fresh process; NODE_OPTIONS cleared so no heap flag leaks in. */
function churn(mode: 'lean' | 'default', nodeOptions = ''): { peakTotalMb: number; peakYoungMb: number; cappedSeen: boolean } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'test/support/heap-churn.ts'), mode], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('leanHeap', () => {
  it('keeps the young generation at 2 x 4 MiB and the heap well below what V8 grows to by itself, on the same work', () => {
    const plain = churn('default');
    const lean = churn('lean');
    // V8 alone: the young generation reaches 2 x 16 MiB (Node 20) or more, and the old one several times the
    // ~25 MB kept alive.
    expect(plain.peakYoungMb).toBeGreaterThan(8);
    expect(lean.cappedSeen).toBe(true);
    expect(lean.peakTotalMb).toBeLessThan(plain.peakTotalMb * 0.6);
    // V8 12 (Node 20, 22) grows the young generation by doubling, which the cap stops at 2 x 4 MiB; V8 13
    // (Node 24) sizes it by its own rule, which the cap only slows (the total above holds on both).
    // It grows back up to the cap (from the 2 MiB it starts with) once the event loop runs, and no further.
    if (Number(process.versions.v8.split('.')[0]) <= 12) expect(lean.peakYoungMb).toBe(8);
    else expect(lean.peakYoungMb).toBeLessThan(plain.peakYoungMb);
  }, 240_000);

  it("leaves the heap alone when the operator set a heap flag (NODE_OPTIONS)", () => {
    const theirs = churn('lean', '--max-semi-space-size=16');
    expect(theirs.cappedSeen).toBe(false);
    expect(theirs.peakYoungMb).toBeGreaterThan(8);
  }, 240_000);

  it('recognises the heap flags an operator may set, in either spelling', () => {
    expect(operatorHeapFlags(['--max-old-space-size=512'], '')).toBe(true);
    expect(operatorHeapFlags([], '--max_semi_space_size=8 --enable-source-maps')).toBe(true);
    expect(operatorHeapFlags(['--heap-growing-percent=50'], '')).toBe(true);
    expect(operatorHeapFlags(['--enable-source-maps'], '--import=tsx')).toBe(false);
  });
});
