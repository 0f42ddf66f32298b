// `formwarden bounces parse [--json] [--workers N] PATH...`: one line per message (JSON) or per recipient
// (text), printed as it goes (memory stays bounded per message). Parses in-process by default (the CLI is the
// owner's own process), within the parser's byte/line/part/depth budget; with --workers N, in N worker threads
// (parse/pool.ts, with its per-message time budget), results printed in input order all the same. Every text
// that comes from a bounce is printed with the characters a terminal acts on shown as escapes.
import { jsonTerminalSafe, terminalSafe } from '../util/terminal-safe.js';
import { parseBounce, readMessages } from './parse/index.js';
import type { SourceMessage } from './parse/sources.js';
import type { ParsePool } from './parse/pool.js';
import type { ParsedBounce } from './parse/types.js';

export interface BouncesParseOptions {
  json: boolean;
  /**
   * Worker threads to parse in (default 0: in this thread). Measured on 2 shared cores with 5,304 messages
   * (docs/benchmarks.md, "Bounce parsing as a process"): one worker costs ~30% more CPU (copying each message
   * and result across) and ~+8 MB peak RSS, and was faster in wall time only sometimes; inline is the default.
   */
  workers?: number;
}

/** Messages handed to the workers ahead of the one being printed (bounds memory; keeps every worker busy). */
const AHEAD_PER_WORKER = 8;

/** Parsed messages of one path in input order: inline (no pool), or through the pool with a bounded window in flight. */
export async function* parseMessages(p: string, pool: ParsePool | null): AsyncGenerator<[SourceMessage, ParsedBounce]> {
  if (!pool) {
    for await (const m of readMessages([p])) yield [m, parseBounce(m.raw)];
    return;
  }
  const ahead = pool.size * AHEAD_PER_WORKER;
  const window: Array<[SourceMessage, Promise<ParsedBounce>]> = [];
  try {
    for await (const m of readMessages([p])) {
      window.push([m, pool.parse(m.raw)]);
      if (window.length >= ahead) {
        const [hm, hp] = window.shift()!;
        yield [hm, await hp];
      }
    }
    while (window.length) {
      const [hm, hp] = window.shift()!;
      yield [hm, await hp];
    }
  } finally {
    // A read error ends the loop with messages still in flight: let them finish (their results are dropped)
    // so the next path starts with the pool's queue empty.
    await Promise.allSettled(window.map(([, pr]) => pr));
  }
}

/** The worker pool for `workers` threads (null: parse in this thread), shared by every path of one run. */
export async function openPool(workers: number): Promise<ParsePool | null> {
  if (workers <= 0) return null;
  const { ParsePool } = await import('./parse/pool.js');
  return new ParsePool({ size: workers, maxQueue: workers * AHEAD_PER_WORKER + 1 });
}

/** Output is gathered into writes of about this many characters: one write per line cost ~10% of a run. */
const WRITE_CHARS = 64 * 1024;

export async function runBouncesParse(paths: string[], opts: BouncesParseOptions, out: NodeJS.WritableStream): Promise<number> {
  let failed = 0;
  const t = (s: string) => terminalSafe(s, { tabs: false });
  let pending = '';
  const flush = async () => {
    if (!pending) return;
    const ok = out.write(pending);
    pending = '';
    // A slow reader (a pipe into less) holds us here instead of letting the output pile up in memory.
    if (!ok) await new Promise<void>((resolve) => out.once('drain', resolve));
  };
  // One pool for the whole run: a pool per path started the worker threads again for every file of a glob.
  const pool = await openPool(opts.workers ?? 0);
  try {
    for (const p of paths) {
      try {
        for await (const [m, r] of parseMessages(p, pool)) {
          if (opts.json) {
            const obj = {
              file: m.file, index: m.index, kind: r.kind,
              bounces: r.bounces.map((b) => ({
                recipient: b.recipient, sentTo: b.sentTo, finalRecipient: b.finalRecipient, reason: b.reason, status: b.status, replyCode: b.replyCode, hard: b.hard,
                action: b.action, diagnostic: b.diagnostic, feedbackType: b.feedbackType, originalMessageId: b.originalMessageId,
              })),
              ...(r.why ? { why: r.why } : {}),
            };
            pending += jsonTerminalSafe(JSON.stringify(obj)) + '\n';
          } else if (r.bounces.length === 0) {
            pending += `${t(m.file)}#${m.index}\t${r.kind}\t-\t${t(r.why ?? '')}\n`;
          } else {
            for (const b of r.bounces) {
              const diag = b.diagnostic.length > 120 ? b.diagnostic.slice(0, 117) + '...' : b.diagnostic;
              pending += `${t(m.file)}#${m.index}\t${t(b.recipient) || '-'}\t${b.reason}\t${t(b.status) || '-'}\t${b.hard ? 'hard' : 'soft'}\t${t(diag)}\n`;
            }
          }
          if (pending.length >= WRITE_CHARS) await flush();
        }
      } catch (e) {
        await flush(); // what was read before the error comes first
        failed++;
        process.stderr.write(`formwarden: cannot read ${terminalSafe(p)}: ${terminalSafe((e as Error).message)}\n`);
      }
    }
  } finally {
    await pool?.close();
  }
  await flush();
  return failed ? 1 : 0;
}
