// `formwarden bounces parse [--json] PATH...`: one line per message (JSON) or per recipient (text).
import { parseBounce, readMessages } from './parse/index.js';

export async function runBouncesParse(paths: string[], opts: { json: boolean }, out: NodeJS.WritableStream): Promise<number> {
  let failed = 0;
  for (const p of paths) {
    try {
      for await (const m of readMessages([p])) {
        const r = parseBounce(m.raw);
        if (opts.json) {
          const obj = {
            file: m.file, index: m.index, kind: r.kind,
            bounces: r.bounces.map((b) => ({
              recipient: b.recipient, reason: b.reason, status: b.status, replyCode: b.replyCode, hard: b.hard,
              action: b.action, diagnostic: b.diagnostic, feedbackType: b.feedbackType, originalMessageId: b.originalMessageId,
            })),
            ...(r.why ? { why: r.why } : {}),
          };
          out.write(JSON.stringify(obj) + '\n');
        } else if (r.bounces.length === 0) {
          out.write(`${m.file}#${m.index}\t${r.kind}\t-\t${r.why ?? ''}\n`);
        } else {
          for (const b of r.bounces) {
            const diag = b.diagnostic.length > 120 ? b.diagnostic.slice(0, 117) + '...' : b.diagnostic;
            out.write(`${m.file}#${m.index}\t${b.recipient || '-'}\t${b.reason}\t${b.status || '-'}\t${b.hard ? 'hard' : 'soft'}\t${diag}\n`);
          }
        }
      }
    } catch (e) {
      failed++;
      process.stderr.write(`formwarden: cannot read ${p}: ${(e as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}
