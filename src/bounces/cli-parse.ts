// `formwarden bounces parse [--json] PATH...`: one line per message (JSON) or per recipient (text). Parses
// in-process (the CLI is the owner's own process), within the parser's byte/line/part/depth budget. Every
// text that comes from a bounce is printed with the characters a terminal acts on shown as escapes.
import { jsonTerminalSafe, terminalSafe } from '../util/terminal-safe.js';
import { parseBounce, readMessages } from './parse/index.js';

export async function runBouncesParse(paths: string[], opts: { json: boolean }, out: NodeJS.WritableStream): Promise<number> {
  let failed = 0;
  const t = (s: string) => terminalSafe(s, { tabs: false });
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
          out.write(jsonTerminalSafe(JSON.stringify(obj)) + '\n');
        } else if (r.bounces.length === 0) {
          out.write(`${t(m.file)}#${m.index}\t${r.kind}\t-\t${t(r.why ?? '')}\n`);
        } else {
          for (const b of r.bounces) {
            const diag = b.diagnostic.length > 120 ? b.diagnostic.slice(0, 117) + '...' : b.diagnostic;
            out.write(`${t(m.file)}#${m.index}\t${t(b.recipient) || '-'}\t${b.reason}\t${t(b.status) || '-'}\t${b.hard ? 'hard' : 'soft'}\t${t(diag)}\n`);
          }
        }
      }
    } catch (e) {
      failed++;
      process.stderr.write(`formwarden: cannot read ${terminalSafe(p)}: ${terminalSafe((e as Error).message)}\n`);
    }
  }
  return failed ? 1 : 0;
}
