// Accuracy against the Sisimai corpus in ../shared (skipped when the corpus is absent).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBounce, splitMbox } from './index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const corpus = path.resolve(root, '../shared/corpora/bounces');
const exists = existsSync(path.join(corpus, 'public.jsonl'));
const PLACEHOLDER = 'undisclosed-recipient-in-headers@libsisimai.org.invalid';

interface Exp { recipient: string; reason: string; hardbounce: number; message_index: number }

describe('Sisimai corpus (../shared/corpora/bounces)', () => {
  it.skipIf(!exists)('meets the accuracy floor (skipped when ../shared/corpora/bounces is absent)', () => {
    const lines = readFileSync(path.join(corpus, 'public.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file: string; expected: Exp[] });
    let n = 0, rcpt = 0, reason = 0, hard = 0;
    for (const l of lines) {
      const msgs = [...splitMbox(readFileSync(path.join(corpus, 'public', l.file)))].map((m) => parseBounce(m).bounces);
      for (const e of l.expected) {
        n++;
        const want = e.recipient === PLACEHOLDER ? '' : e.recipient.toLowerCase();
        const list = msgs[e.message_index - 1] ?? [];
        const g = list.find((b) => b.recipient === want) ?? list[0];
        if (g?.recipient === want) rcpt++;
        if (g?.reason === e.reason) reason++;
        if (g && g.hard === (e.hardbounce === 1)) hard++;
      }
    }
    // Current floors (see bench/bounces.ts for the full report); raise them as accuracy improves.
    expect(rcpt / n).toBeGreaterThanOrEqual(0.98);
    expect(reason / n).toBeGreaterThanOrEqual(0.94);
    expect(hard / n).toBeGreaterThanOrEqual(0.96);
  });
});
